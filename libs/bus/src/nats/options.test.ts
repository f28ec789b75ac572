import { describe, expect, it } from "vitest";
import { BusError } from "../errors.js";
import { NATS_DEFAULTS, resolveNatsOptions } from "./options.js";

describe("resolveNatsOptions", () => {
  it("fills the defaults", () => {
    const o = resolveNatsOptions({ servers: "nats://127.0.0.1:4222" });
    expect(o).toMatchObject({
      servers: ["nats://127.0.0.1:4222"],
      stream: "ATOMIC_CI",
      subjects: ["org.>", "ci.>"],
      deadLetterStream: "ATOMIC_CI_DLQ",
      deadLetterPrefix: "atomic-ci.dead-letter",
      retention: "interest",
      ackWaitMs: 60_000,
      maxReconnectAttempts: -1,
      nakDelayMs: NATS_DEFAULTS.nakDelayMs,
      auth: { kind: "none" },
      tls: undefined,
    });
  });

  it("never shows secrets in toJSON or errors", () => {
    const o = resolveNatsOptions({ servers: ["nats://svc:hunter2@nats-1:4222", "nats://s3cr3t-token@nats-2:4222"], user: "svc", pass: "hunter2" });
    const json = JSON.stringify(o);
    expect(json).not.toContain("hunter2");
    expect(json).not.toContain("s3cr3t-token");
    expect(o.redactedServers).toEqual(["nats://svc:***@nats-1:4222", "nats://***@nats-2:4222"]);
    let error: unknown;
    try {
      resolveNatsOptions({ servers: "nats://x:4222", token: "tok-secret", user: "u", pass: "pw-secret" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BusError);
    expect((error as BusError).code).toBe("CONFIG");
    expect((error as Error).message).not.toMatch(/tok-secret|pw-secret/);
  });

  it.each([
    [{ servers: "http://x" }, /servers/],
    [{ servers: "nats://x:4222", stream: "A.B" }, /stream/],
    [{ servers: "nats://x:4222", subjects: ["a.>.b"] }, /subjects/],
    [{ servers: "nats://x:4222", subjects: ["atomic-ci.>"] }, /overlaps the dead-letter subjects/],
    [{ servers: "nats://x:4222", ackWaitMs: 10 }, /ackWaitMs/],
    [{ servers: "nats://x:4222", tls: { cert: "c.pem" } }, /both cert and key/],
    [{ servers: "nats://x:4222", credsFile: "no-such-dir/x.creds" }, /cannot read NATS creds file/],
  ])("refuses %j", (options, message) => {
    expect(() => resolveNatsOptions(options)).toThrow(message);
  });
});
