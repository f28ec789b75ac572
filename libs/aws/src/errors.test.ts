import { describe, expect, it } from "vitest";
import { AwsError, describeSdkError, wrapSdkError } from "./errors.js";

/** The shape the SDK v3 gives service errors (ServiceException: name, $fault, $metadata). */
const sdkError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, $fault: status >= 500 ? "server" : "client", $metadata: { httpStatusCode: status }, ...extra });

describe("SDK errors", () => {
  it("throttling and 5xx are worth retrying; 4xx refusals are not", () => {
    expect(describeSdkError(sdkError("RequestLimitExceeded", 503)).retryable).toBe(true);
    expect(describeSdkError(sdkError("SlowDown", 503)).retryable).toBe(true);
    expect(describeSdkError(sdkError("InternalError", 500)).retryable).toBe(true);
    expect(describeSdkError(sdkError("Throttling", 400)).retryable).toBe(true);
    expect(describeSdkError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })).retryable).toBe(true);
    expect(describeSdkError(sdkError("AuthFailure", 401)).retryable).toBe(false);
    expect(describeSdkError(sdkError("InvalidAMIName.Duplicate", 400))).toMatchObject({ awsCode: "InvalidAMIName.Duplicate", httpStatus: 400, retryable: false });
  });

  it("wraps with the operation and region, keeping the cause; an AwsError passes through", () => {
    const cause = sdkError("RequestLimitExceeded", 503);
    const wrapped = wrapSdkError(cause, "DescribeImages", "eu-west-1");
    expect(wrapped).toBeInstanceOf(AwsError);
    expect(wrapped).toMatchObject({ code: "AWS_REQUEST_FAILED", awsCode: "RequestLimitExceeded", httpStatus: 503, retryable: true, region: "eu-west-1" });
    expect(wrapped.message).toBe("DescribeImages in eu-west-1 failed: RequestLimitExceeded (HTTP 503): RequestLimitExceeded happened");
    expect(wrapped.cause).toBe(cause);
    expect(wrapSdkError(wrapped, "x", "y")).toBe(wrapped);
  });
});
