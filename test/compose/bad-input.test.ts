// Bad input never reaches a tool's argument vector and never produces a commit: each case is
// a typed compose failure naming the problem, and nothing is left outside the work directory.
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compose, type ComposeOptions } from "@atomic-ci/compose";
import { buildFixtureWorld, type FixtureWorld } from "../fixture-world/src/index.js";
import { appendTo, cleanup, copyDefinition, ctx, scratch } from "./support.js";

let world: FixtureWorld;

beforeAll(async () => {
  world = await buildFixtureWorld();
});
afterAll(cleanup);

/** Compose in a fresh directory; check that only the (emptied) work directory is there afterwards. */
async function composeIn(edit: (def: { dir: string; treefile: string }) => Promise<Partial<ComposeOptions> | undefined>) {
  const dir = await scratch("bad");
  const def = await copyDefinition(world, dir);
  const extra = (await edit(def)) ?? {};
  const result = await compose({ treefile: def.treefile, basearch: "x86_64", repo: join(dir, "repo"), workDir: join(dir, "work"), ...extra }, ctx);
  expect(existsSync(join(dir, "repo"))).toBe(false);
  expect(existsSync(join(dir, "composes"))).toBe(false);
  expect(await readdir(join(dir, "work"))).toEqual([]);
  return result;
}

describe("bad input", () => {
  it("a change set NEVRA with shell metacharacters", async () => {
    const result = await composeIn(() => Promise.resolve({ candidates: { repo: world.repos.candidates, nevras: ["podman-5.3.0-1.fc41;touch${IFS}pwned.x86_64"] } }));
    expect(result.type).toBe("compose-failure");
    expect(result.type === "compose-failure" && result.reason).toMatch(/candidates\.0/);
  });

  it("a treefile package entry with shell metacharacters", async () => {
    const result = await composeIn(async (def) => {
      const text = await readFile(def.treefile, "utf8");
      await writeFile(def.treefile, text.replace("  - foo-cli\n", '  - foo-cli\n  - "bash;touch pwned"\n'));
      return undefined;
    });
    expect(result.type === "compose-failure" && result.reason).toMatch(/fedora-atomic-host\.yaml: packages\.\d+: .*touch/);
  });

  it("an unknown treefile key names the file and the key", async () => {
    const result = await composeIn(async (def) => {
      await appendTo(def.treefile, "bogus-key: 1\n");
      return undefined;
    });
    expect(result.type === "compose-failure" && result.reason).toMatch(/fedora-atomic-host\.yaml: bogus-key: /);
  });

  it("an include cycle", async () => {
    const result = await composeIn(async (def) => {
      await appendTo(join(def.dir, "fedora-atomic-host-base.yaml"), "include: fedora-atomic-host.yaml\n");
      return undefined;
    });
    expect(result.type === "compose-failure" && result.reason).toMatch(/cycle|includes itself|already included/i);
  });

  it("add-files whose source escapes the definition", async () => {
    const result = await composeIn(async (def) => {
      await writeFile(join(def.dir, "..", "outside.conf"), "x\n");
      await appendTo(def.treefile, "add-files:\n  - [../outside.conf, /usr/lib/outside.conf]\n");
      return undefined;
    });
    expect(result.type === "compose-failure" && result.reason).toMatch(/add-files/);
  });
});
