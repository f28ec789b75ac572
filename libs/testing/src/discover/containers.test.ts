import { describe, expect, it } from "vitest";
import { DiscoveryError, type TestCase } from "../model.js";
import { isContainerTest, parseContainers } from "./containers.js";

const opts = { package: "fedora-atomic", commit: "c0ffee", store: "/srv/images" };
const GOOD = `runtime:
  commands:
    - [podman, --version]
images:
  - name: toolbox
    layout: fedora/toolbox
    ref: "41"
    command: [greet, --loud]
    user: "1000:1000"
    env: {GREETING: hi}
    expect:
      output: '^hello'
    timeout: 30s
  - name: minimal
    image: oci:fedora/minimal:41.1
    digest: sha256:${"a".repeat(64)}
`;

function problem(yaml: string, store: string | null = "/srv/images"): string {
  try {
    parseContainers(yaml, { package: "fedora-atomic", commit: "c0ffee", ...(store !== null ? { store } : {}) });
  } catch (err) {
    expect(err).toBeInstanceOf(DiscoveryError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

describe("containers.yaml", () => {
  it("makes one host test per key image, carrying the image", () => {
    const [toolbox, minimal] = parseContainers(GOOD, opts);
    expect(toolbox).toMatchObject({
      id: "fedora-atomic/host/containers.yaml/toolbox",
      source: "host",
      name: "toolbox",
      command: ["greet", "--loud"],
      timeoutMs: 30_000,
      commit: "c0ffee",
      file: "containers.yaml",
      container: {
        runtime: [["podman", "--version"]],
        image: { name: "toolbox", store: "/srv/images", layout: "fedora/toolbox", ref: "41", user: "1000:1000", env: { GREETING: "hi" }, expect: { exitCode: 0, output: "^hello" } },
      },
    });
    expect(minimal?.container.image).toMatchObject({ layout: "fedora/minimal", ref: "41.1", digest: `sha256:${"a".repeat(64)}`, timeoutMs: 120_000, expect: { exitCode: 0 } });
    expect(toolbox && isContainerTest(toolbox)).toBe(true);
    // Plain data: a plan stored as JSON (re-runs on request) still knows it is a key-container test.
    expect(isContainerTest(JSON.parse(JSON.stringify(toolbox)) as TestCase)).toBe(true);
  });

  it("names every problem by key", () => {
    const message = problem(`images:
  - name: Bad Name
    layout: ../outside
  - name: ok
    layout: /abs
    command: []
    expect: {exit-code: 300, output: "("}
    surprise: 1
`);
    expect(message).toContain("containers.yaml: images.0.name: must be lowercase letters");
    expect(message).toContain("containers.yaml: images.0.layout: must be a normalised path relative to the image store");
    expect(message).toContain("containers.yaml: images.1.layout: must be a normalised path");
    expect(message).toContain("containers.yaml: images.1.command: must name a program");
    expect(message).toContain("containers.yaml: images.1.expect.exit-code:");
    expect(message).toContain("containers.yaml: images.1.expect.output: must be a valid regular expression");
    expect(message).toContain('containers.yaml: images.1: Unrecognized key: "surprise"');
  });

  it("refuses duplicates, both or neither location, a reserved name, and no image store", () => {
    expect(problem("images:\n  - {name: a, layout: x}\n  - {name: a, layout: y}\n")).toContain('images.1.name: duplicate image name "a"');
    expect(problem("images:\n  - {name: a, layout: x, image: 'oci:y'}\n")).toContain("images.0.layout: needs exactly one of layout and image");
    expect(problem("images:\n  - {name: a}\n")).toContain("needs exactly one of layout and image");
    expect(problem("images:\n  - {name: a, image: 'oci:../x:1'}\n")).toContain("images.0.image: layout part must be a normalised path");
    expect(problem("images:\n  - {name: discovery, layout: x}\n")).toContain("images.0.name: is reserved");
    expect(problem("images:\n  - {name: a, layout: x}\n", null)).toBe("containers.yaml: images: lists key images but no image store is configured (testRunner.containers.imageStore)");
    expect(problem("images: [\n")).toMatch(/^containers\.yaml: \(document\): not valid YAML/);
  });

  it("an empty file or no images is no tests (and needs no store)", () => {
    expect(parseContainers("", { package: "p", commit: "c" })).toEqual([]);
    expect(parseContainers("runtime: {commands: [[podman, --version]]}\n", { package: "p", commit: "c" })).toEqual([]);
  });
});
