// Option resolution, TLS included. No TLS broker is available to the test suites, so TLS is
// checked here at the level of what would be handed to amqplib / tls.connect: SASL
// mechanism, minimum protocol version, hostname checking, and PEM files read from paths.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isBusError } from "../errors.js";
import { reconnectDelay, resolveAmqpOptions } from "./options.js";

const dir = mkdtempSync(join(tmpdir(), "amqp-options-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function pem(name: string, label: string): string {
  const path = join(dir, name);
  writeFileSync(path, `-----BEGIN ${label}-----\n${name}\n-----END ${label}-----\n`);
  return path;
}

function configError(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    expect(isBusError(err, "CONFIG")).toBe(true);
    return err as Error;
  }
  throw new Error("expected a CONFIG error");
}

describe("resolveAmqpOptions", () => {
  it("stamps the URL's user as user_id, a client certificate's CN with EXTERNAL, or the configured one", () => {
    expect(resolveAmqpOptions({ url: "amqp://atomic-ci-composer:pw@broker.example" }).userId).toBe("atomic-ci-composer");
    expect(resolveAmqpOptions({ url: "amqp://broker.example" }).userId).toBe("guest");
    const key = join(dir, "real-key.pem");
    const cert = join(dir, "real-cert.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/O=Fedora/CN=atomic-ci-gatekeeper", "-keyout", key, "-out", cert], { stdio: "ignore" });
    expect(resolveAmqpOptions({ url: "amqps://broker.example", tls: { cert, key } }).userId).toBe("atomic-ci-gatekeeper");
    expect(resolveAmqpOptions({ url: "amqps://broker.example", tls: { cert, key }, userId: "O=Fedora,CN=atomic-ci-gatekeeper" }).userId).toBe("O=Fedora,CN=atomic-ci-gatekeeper");
  });

  it("fills the defaults in one place", () => {
    const o = resolveAmqpOptions({ url: "amqp://ci:pw@broker.example:5673/%2Fci" });
    expect(o.heartbeatSeconds).toBe(30);
    expect(o.reconnect).toEqual({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 });
    expect(o.publishTimeoutMs).toBe(30_000);
    expect(o.queueType).toBe("quorum");
    expect(o.queueArguments).toEqual({});
    expect(o.connect).toMatchObject({ protocol: "amqp", hostname: "broker.example", port: 5673, username: "ci", password: "pw", vhost: "/ci", heartbeat: 30 });
    expect(o.clientProperties.app).toBe("atomic-ci");
    expect(o.clientProperties.connection_name).toMatch(/^atomic-ci /);
    expect(o.socket.credentials).toBeUndefined();
    expect(o.socket.minVersion).toBeUndefined();
  });

  it("passes fedora-messaging's client properties to the broker", () => {
    const props = { app: "atomic-ci-listener", app_url: "https://ci.example/docs", app_contacts_email: "ci@example.org", connection_name: "listener-1" };
    const o = resolveAmqpOptions({ url: "amqp://localhost", clientProperties: props });
    expect(o.socket.clientProperties).toEqual(props);
  });

  it("logs in with SASL EXTERNAL and TLS 1.2+ with hostname checking when given a client certificate", () => {
    const o = resolveAmqpOptions({
      url: "amqps://rabbitmq.fedoraproject.org/%2Fpublic_pubsub",
      tls: { ca: pem("ca.pem", "CERTIFICATE"), cert: pem("cert.pem", "CERTIFICATE"), key: pem("key.pem", "PRIVATE KEY"), passphrase: "pp" },
    });
    expect(o.socket.credentials?.mechanism).toBe("EXTERNAL");
    expect(o.socket.minVersion).toBe("TLSv1.2");
    expect(o.socket.rejectUnauthorized).toBe(true);
    expect(o.socket.servername).toBe("rabbitmq.fedoraproject.org");
    expect(o.socket.checkServerIdentity).toBeUndefined(); // Node's default check stays in force
    expect(o.socket.cert).toContain("cert.pem");
    expect(o.socket.key).toContain("BEGIN PRIVATE KEY");
    expect(o.socket.passphrase).toBe("pp");
    expect(o.connect).toMatchObject({ protocol: "amqps", port: 5671, vhost: "/public_pubsub" });
  });

  it("loads the CA file of an amqps:// URL and keeps password login without a client certificate", () => {
    const o = resolveAmqpOptions({ url: "amqps://user:pw@broker.example", tls: { ca: pem("only-ca.pem", "CERTIFICATE"), servername: "alias.example" } });
    expect(o.socket.ca).toContain("only-ca.pem");
    expect(o.socket.credentials).toBeUndefined();
    expect(o.socket.minVersion).toBe("TLSv1.2");
    expect(o.socket.servername).toBe("alias.example");
  });

  it("refuses inconsistent or unreadable TLS settings", () => {
    expect(configError(() => resolveAmqpOptions({ url: "amqp://localhost", tls: { ca: pem("x.pem", "CERTIFICATE") } })).message).toContain("amqps://");
    expect(configError(() => resolveAmqpOptions({ url: "amqps://localhost", tls: { cert: pem("c.pem", "CERTIFICATE") } })).message).toContain("both cert and key");
    expect(configError(() => resolveAmqpOptions({ url: "amqps://localhost", tls: { ca: join(dir, "missing.pem") } })).message).toContain("missing.pem");
  });

  it("refuses bad values without echoing secrets", () => {
    const bad = configError(() => resolveAmqpOptions({ url: "http://user:hunter2@localhost" }));
    expect(bad.message).toContain("url");
    expect(bad.message).not.toContain("hunter2");
    expect(configError(() => resolveAmqpOptions({ url: "amqp://localhost", queueType: "stream" as "quorum" })).message).toContain("queueType");
    expect(configError(() => resolveAmqpOptions({ url: "amqp://localhost", heartbeatSeconds: -1 })).message).toContain("heartbeatSeconds");
  });

  it("serialises without the password or the key passphrase", () => {
    const o = resolveAmqpOptions({ url: "amqps://user:hunter2@broker.example", tls: { cert: pem("c2.pem", "CERTIFICATE"), key: pem("k2.pem", "PRIVATE KEY"), passphrase: "open-sesame" } });
    const text = JSON.stringify(o);
    expect(text).toContain("amqps://user:***@broker.example");
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("open-sesame");
    expect(text).not.toContain("PRIVATE KEY");
  });
});

describe("reconnectDelay", () => {
  it("grows by the factor, is capped, and spreads by the jitter", () => {
    const policy = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 };
    const mid = () => 0.5;
    expect([1, 2, 3, 4].map((n) => reconnectDelay(policy, n, mid))).toEqual([500, 1000, 2000, 4000]);
    expect(reconnectDelay(policy, 20, mid)).toBe(30_000);
    expect(reconnectDelay(policy, 1, () => 0)).toBe(400);
    expect(reconnectDelay(policy, 1, () => 1)).toBe(600);
  });
});
