import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { commonConfigSchema } from "./common.js";
import { describeConfig, renderConfigTable, replaceConfigTable } from "./docs.js";

describe("config docs", () => {
  it("documents every key with its env name and default", () => {
    const rows = Object.fromEntries(describeConfig(commonConfigSchema).map((r) => [r.key, r]));
    expect(rows["bus.amqp.url"]).toMatchObject({ env: "ATOMIC_CI_BUS__AMQP__URL", aliases: ["AMQP_URL"], default: "unset" });
    expect(rows["bus.maxBodyBytes"]).toMatchObject({ env: "ATOMIC_CI_BUS__MAX_BODY_BYTES", default: "1048576" });
    expect(rows["shutdownTimeoutMs"]).toMatchObject({ env: "ATOMIC_CI_SHUTDOWN_TIMEOUT_MS", default: "30000" });
    for (const row of Object.values(rows)) expect(row.description, row.key).not.toBe("");
  });

  it("docs/config.md carries the current table (run scripts/config-docs.ts)", () => {
    const doc = readFileSync(new URL("../../../../docs/config.md", import.meta.url), "utf8");
    expect(replaceConfigTable(doc, renderConfigTable(commonConfigSchema))).toBe(doc);
  });
});
