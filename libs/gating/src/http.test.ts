import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakePorts, NVR, policies, result } from "./gating.test-helper.js";
import { DECISION_PATH, gatingRequestListener, VALIDATE_PATH } from "./http.js";
import type { DecisionPorts } from "./ports.js";

const TC = "fedora-ci.koji-build.tier0.functional";
let server: Server;
let base: string;
let failUpstream = false;

beforeAll(async () => {
  const ports = fakePorts({
    policies: policies(`--- !Policy
id: package_gate
product_versions: [fedora-*]
decision_context: bodhi_update_push_testing
subject_type: koji_build
rules: [!PassingTestCaseRule {test_case_name: ${TC}}]
`),
    results: [result(TC, "PASSED", { id: 42 })],
  });
  const flaky: DecisionPorts = { ...ports, results: (s, t) => (failUpstream ? Promise.reject(new Error("ResultsDB unreachable")) : ports.results(s, t)) };
  server = createServer(gatingRequestListener(flaky));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const post = (path: string, body: string) => fetch(`${base}${path}`, { method: "POST", body, headers: { "content-type": "application/json" } });
const decisionBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ product_version: "fedora-26", decision_context: "bodhi_update_push_testing", subject_type: "koji_build", subject_identifier: NVR, ...extra });

describe("gating HTTP API", () => {
  it("answers a decision with Greenwave's fields", async () => {
    const res = await post(DECISION_PATH, decisionBody());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      policies_satisfied: true,
      summary: "All required tests (1 total) have passed or been waived",
      applicable_policies: ["package_gate"],
      satisfied_requirements: [{ type: "test-result-passed", result_id: 42 }],
      unsatisfied_requirements: [],
    });
  });

  it("answers 400 with a JSON message for a bad request or bad JSON", async () => {
    const res = await post(DECISION_PATH, decisionBody({ product_version: undefined }));
    expect([res.status, await res.json()]).toEqual([400, { message: "Missing required product version" }]);
    const broken = await post(DECISION_PATH, "{not json");
    expect([broken.status, await broken.json()]).toEqual([400, { message: "No JSON payload in request" }]);
  });

  it("answers 404 when no policy applies", async () => {
    const res = await post(DECISION_PATH, decisionBody({ decision_context: "nowhere" }));
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toContain("Found no applicable policies");
  });

  it("answers 502 when ResultsDB fails", async () => {
    failUpstream = true;
    try {
      const res = await post(DECISION_PATH, decisionBody());
      expect([res.status, await res.json()]).toEqual([502, { message: "ResultsDB unreachable" }]);
    } finally {
      failUpstream = false;
    }
  });

  it("validates a gating.yaml", async () => {
    const ok = await post(VALIDATE_PATH, `--- !Policy\ndecision_context: bodhi_update_push_testing\nrules: []\n`);
    expect([ok.status, await ok.json()]).toEqual([200, { message: "All OK" }]);
    const bad = await post(VALIDATE_PATH, `--- !Policy\ndecision_context: c\nrules: [!RemoteRule {}]\n`);
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({
      message: "document 1: rules.0: !RemoteRule is not allowed in a gating.yaml",
      errors: ["document 1: rules.0: !RemoteRule is not allowed in a gating.yaml"],
    });
  });

  it("answers 405 for GET and 404 for unknown paths", async () => {
    expect((await fetch(`${base}${DECISION_PATH}`)).status).toBe(405);
    expect((await post("/api/v1.0/nothing", "{}")).status).toBe(404);
  });
});
