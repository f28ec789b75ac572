// One error class for the AWS backend, with a string code and the split the image-builder needs:
// `retryable` (throttling, 5xx, a timeout: the same request may work later) or not (AWS looked at
// the disk and refused it, or the configuration is wrong).

export type AwsErrorCode =
  | "AWS_REQUEST_FAILED" // an API call failed (after the SDK's own retries)
  | "NOT_STREAM_OPTIMIZED" // the file to import is no streamOptimized VMDK
  | "IMPORT_FAILED" // the ImportSnapshot task ended `deleted` (or `deleting`)
  | "IMPORT_TIMEOUT" // the ImportSnapshot task was still active after importTimeoutMs
  | "IMAGE_FAILED" // a registered or copied AMI went `failed`, `invalid`, `error` or `deregistered`
  | "IMAGE_TIMEOUT" // an AMI was not available after copyTimeoutMs
  | "UNEXPECTED_RESPONSE"; // a response lacked what it must carry (an id)

export class AwsError extends Error {
  override readonly name = "AwsError";
  readonly code: AwsErrorCode;
  /** True when trying again later may succeed. */
  readonly retryable: boolean;
  /** The AWS error code (RequestLimitExceeded, InvalidAMIName.Duplicate, ...) when AWS gave one. */
  readonly awsCode: string | undefined;
  readonly httpStatus: number | undefined;
  readonly region: string | undefined;

  constructor(code: AwsErrorCode, message: string, details: { retryable: boolean; awsCode?: string; httpStatus?: number; region?: string; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.retryable = details.retryable;
    this.awsCode = details.awsCode;
    this.httpStatus = details.httpStatus;
    this.region = details.region;
  }
}

export function isAwsError(err: unknown, code?: AwsErrorCode): err is AwsError {
  return err instanceof AwsError && (code === undefined || err.code === code);
}

/** AWS error codes that mean "slow down" (EC2's and S3's spellings). */
const THROTTLING = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequestsException",
  "SlowDown",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "EC2ThrottledException",
  "PriorRequestNotComplete",
  "BandwidthLimitExceeded",
  "ServiceUnavailable",
  "InternalError",
  "InternalFailure",
  "Unavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "IDPCommunicationError",
]);

/** Network-level failures the SDK surfaces as plain errors. */
const NETWORK = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "TimeoutError", "AbortError"]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** What an SDK (or network) error says: its AWS code, HTTP status, and whether to try again later. */
export function describeSdkError(err: unknown): { awsCode: string | undefined; httpStatus: number | undefined; retryable: boolean; message: string } {
  const e = (typeof err === "object" && err !== null ? err : {}) as SdkErrorShape;
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const awsCode = str(e.Code) ?? str(e.name) ?? str(e.code);
  const httpStatus = typeof e.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined;
  const retryable =
    (awsCode !== undefined && (THROTTLING.has(awsCode) || NETWORK.has(awsCode))) ||
    (typeof e.code === "string" && NETWORK.has(e.code)) ||
    e.$fault === "server" ||
    e.$retryable !== undefined ||
    (httpStatus !== undefined && (httpStatus >= 500 || httpStatus === 429));
  const message = str(e.message) ?? (err instanceof Error ? err.message : String(err));
  return { awsCode, httpStatus, retryable, message };
}

/** Wraps an SDK failure of `operation` in an AwsError (already an AwsError: returned as is). */
export function wrapSdkError(err: unknown, operation: string, region: string): AwsError {
  if (err instanceof AwsError) return err;
  const d = describeSdkError(err);
  const code = d.awsCode === undefined ? "" : ` ${d.awsCode}`;
  const status = d.httpStatus === undefined ? "" : ` (HTTP ${d.httpStatus})`;
  return new AwsError("AWS_REQUEST_FAILED", `${operation} in ${region} failed:${code}${status}: ${d.message}`, {
    retryable: d.retryable,
    ...(d.awsCode === undefined ? {} : { awsCode: d.awsCode }),
    ...(d.httpStatus === undefined ? {} : { httpStatus: d.httpStatus }),
    region,
    cause: err,
  });
}
