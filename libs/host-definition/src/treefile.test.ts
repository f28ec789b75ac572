import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeDir, rejectedIssues, removeDirs } from "./definition.test-helper.js";
import { DefinitionError } from "./errors.js";
import { MAX_DEFINITION_FILE_BYTES } from "./source.js";
import { loadTreefile } from "./treefile.js";

afterEach(removeDirs);

const load = (dir: string, file = "host.yaml", basearch = "x86_64") => loadTreefile(join(dir, file), { basearch });

describe("loadTreefile: a single file", () => {
  it("reads every supported key into the typed result", async () => {
    const dir = await makeDir({
      "host.yaml": `
ref: fedora/\${releasever}/\${basearch}/atomic-host
releasever: 41
repos: [fedora, updates]
packages:
  - kernel systemd
  - kernel-6.9.11-100.fc39
exclude-packages: [python3]
add-files:
  - [motd, /etc/motd]
remove-files: [usr/share/info]
postprocess: ["echo hi"]
add-commit-metadata:
  fedora.build: "\${releasever}-\${basearch}"
  fedora.count: 3
automatic-version-prefix: "\${releasever}.<date:%Y%m%d>.dev"
mutate-os-release: "\${releasever}"
units: [sshd.service, getty@tty1.service]
default-target: multi-user.target
recommends: false
documentation: false
`,
      motd: "hello\n",
    });
    const { treefile, files, root } = await load(dir);
    expect(treefile).toEqual({
      basearch: "x86_64",
      ref: "fedora/41/x86_64/atomic-host",
      releasever: "41",
      repos: ["fedora", "updates"],
      packages: ["kernel", "systemd", "kernel-6.9.11-100.fc39"],
      packageSpecs: [
        { spec: "kernel", name: "kernel" },
        { spec: "systemd", name: "systemd" },
        { spec: "kernel-6.9.11-100.fc39", name: "kernel", evr: { version: "6.9.11", release: "100.fc39" } },
      ],
      excludePackages: ["python3"],
      addFiles: [{ source: "motd", sourcePath: join(dir, "motd"), dest: "/etc/motd" }],
      removeFiles: ["usr/share/info"],
      postprocess: ["echo hi"],
      addCommitMetadata: { "fedora.build": "41-x86_64", "fedora.count": 3 },
      automaticVersionPrefix: "41.<date:%Y%m%d>.dev",
      mutateOsRelease: "41",
      units: ["sshd.service", "getty@tty1.service"],
      defaultTarget: "multi-user.target",
      recommends: false,
      documentation: false,
    });
    expect(files).toEqual([join(dir, "host.yaml")]);
    expect(root).toBe(dir);
  });

  it("reads JSON treefiles and fills the defaults", async () => {
    const dir = await makeDir({ "host.json": JSON.stringify({ ref: "os/${basearch}", packages: ["bash"] }) });
    const { treefile } = await load(dir, "host.json", "aarch64");
    expect(treefile).toMatchObject({ ref: "os/aarch64", packages: ["bash"], recommends: true, documentation: true, repos: [], postprocess: [] });
    expect(treefile.releasever).toBeUndefined();
  });

  it("reports an unknown key with file and key, together with the file's other problems", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\nselinux: false\nrecommends: maybe\nunits: [sshd]\n" });
    const issues = await rejectedIssues(load(dir));
    expect(issues).toEqual([
      { file: "host.yaml", key: "selinux", message: "unknown key (not supported; see docs/host-definition.md)" },
      { file: "host.yaml", key: "recommends", message: "expected boolean, received string" },
      { file: "host.yaml", key: "units.0", message: expect.stringContaining("must name a systemd unit") as string },
    ]);
  });

  it("formats every problem as file: key: message", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\nselinux: false\n" });
    const error = await load(dir).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).code).toBe("DEFINITION");
    expect((error as DefinitionError).message).toBe("invalid host definition (1 problem):\n  host.yaml: selinux: unknown key (not supported; see docs/host-definition.md)");
  });

  it("requires ref and checks it once substituted", async () => {
    const noRef = await makeDir({ "host.yaml": "packages: [bash]\n" });
    expect(await rejectedIssues(load(noRef))).toEqual([{ file: "host.yaml", key: "ref", message: "required (in this file or one it includes)" }]);
    const badRef = await makeDir({ "host.yaml": "ref: 'os/${releasever}/../x'\nreleasever: '41'\n" });
    expect((await rejectedIssues(load(badRef)))[0]).toMatchObject({ key: "ref", message: expect.stringContaining('"os/41/../x" is not a valid ostree ref') as string });
  });

  it("refuses unknown variables, and ${releasever} without releasever", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/${stream}\nmutate-os-release: ${releasever}\n" });
    expect(await rejectedIssues(load(dir))).toEqual([
      { file: "host.yaml", key: "ref", message: 'unknown variable "${stream}" (only ${basearch} and ${releasever} are defined)' },
      { file: "host.yaml", key: "mutate-os-release", message: "uses ${releasever} but releasever is not set" },
    ]);
  });

  it("checks the values of the other keys", async () => {
    const dir = await makeDir({
      "host.yaml": `ref: os/x
releasever: 41.5
include: 3
add-commit-metadata: [a]
automatic-version-prefix: "41.<time:%H>"
default-target: sshd.service
repos: ["fedora updates"]
postprocess: [""]
`,
    });
    expect((await rejectedIssues(load(dir))).map((i) => [i.key, i.message])).toEqual([
      ["releasever", "expected a whole number or a string of letters, digits, . _ and -"],
      ["include", "expected a path or a list of paths"],
      ["add-commit-metadata", "expected a mapping of keys to values"],
      ["default-target", "must name a systemd target (e.g. multi-user.target)"],
      ["repos.0", "must be a repository id (letters, digits, . _ : -)"],
      ["postprocess.0", "must not be empty"],
      ["automatic-version-prefix", "unknown tag <time:%H> (only <date:FORMAT> with %Y %y %m %d %H %M %S %j %%)"],
    ]);
  });

  it("refuses package entries that are not names or NVRs", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\npackages:\n  - bash\n  - 'foo;rm -rf /'\n  - $(id)\n  - ''\n  - \"a\\nb\"\n" });
    const issues = await rejectedIssues(load(dir));
    expect(issues.map((i) => i.key)).toEqual(["packages.1", "packages.1", "packages.1", "packages.2", "packages.3"]);
    // "a\nb" is split on whitespace into two valid names, as rpm-ostree splits entries.
    expect(issues[0]?.message).toContain('"foo;rm"');
    expect(issues[3]?.message).toContain('"$(id)"');
    expect(issues[4]?.message).toBe("empty entry");
  });

  it("refuses a package that is also excluded", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\npackages: [python3-3.12.1-1.fc39]\nexclude-packages: [python3]\n" });
    expect(await rejectedIssues(load(dir))).toEqual([{ file: "host.yaml", key: "exclude-packages", message: '"python3" is both in packages and in exclude-packages' }]);
  });

  it("reports YAML syntax errors and non-mapping documents", async () => {
    const dir = await makeDir({ "host.yaml": "ref: [unclosed\n", "list.yaml": "- a\n" });
    const syntax = await rejectedIssues(load(dir));
    expect(syntax[0]).toMatchObject({ file: "host.yaml", key: "(file)", message: expect.stringMatching(/^invalid YAML: .*line 2/) as string });
    expect((await rejectedIssues(load(dir, "list.yaml")))[0]).toMatchObject({ key: "(file)", message: "the top level must be a mapping of treefile keys" });
    await writeFile(join(dir, "dup.yaml"), "ref: os/a\nref: os/b\n");
    expect((await rejectedIssues(load(dir, "dup.yaml")))[0]?.message).toMatch(/^invalid YAML: Map keys must be unique/);
  });

  it("refuses files over the size limit and other extensions", async () => {
    const dir = await makeDir({ "host.yaml": `ref: os/x\n#${"x".repeat(MAX_DEFINITION_FILE_BYTES)}\n`, "host.txt": "ref: os/x\n" });
    expect(await rejectedIssues(load(dir))).toEqual([{ file: "host.yaml", key: "(file)", message: `is larger than ${MAX_DEFINITION_FILE_BYTES} bytes` }]);
    expect(await rejectedIssues(load(dir, "host.txt"))).toEqual([{ file: "host.txt", key: "(file)", message: "must end in .yaml, .yml or .json" }]);
  });

  it("refuses an unknown basearch before reading anything", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\n" });
    expect(await rejectedIssues(load(dir, "host.yaml", "x86-64"))).toEqual([
      { file: "(input)", key: "basearch", message: expect.stringContaining('unknown base architecture "x86-64"') as string },
    ]);
  });
});

describe("loadTreefile: packages-<basearch>", () => {
  const files = { "host.yaml": "ref: os/x\npackages: [bash]\npackages-x86_64: [grub2-efi-x64 shim-x64]\npackages-aarch64: [grub2-efi-aa64]\n" };

  it("adds only the current arch's list, after the file's packages", async () => {
    const dir = await makeDir(files);
    expect((await load(dir, "host.yaml", "x86_64")).treefile.packages).toEqual(["bash", "grub2-efi-x64", "shim-x64"]);
    expect((await load(dir, "host.yaml", "aarch64")).treefile.packages).toEqual(["bash", "grub2-efi-aa64"]);
    expect((await load(dir, "host.yaml", "s390x")).treefile.packages).toEqual(["bash"]);
  });

  it("validates the other arches' lists too, and refuses unknown arches", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\npackages-aarch64: ['$(id)']\npackages-amd64: [bash]\n" });
    expect(await rejectedIssues(load(dir))).toEqual([
      { file: "host.yaml", key: "packages-aarch64.0", message: expect.stringContaining('"$(id)"') as string },
      { file: "host.yaml", key: "packages-amd64", message: 'unknown base architecture "amd64"' },
    ]);
  });
});

describe("loadTreefile: includes", () => {
  it("concatenates lists (included first) and lets the including file override scalars", async () => {
    const dir = await makeDir({
      "host.yaml": "include: base.yaml\nref: host/${basearch}\npackages: [vim]\nrecommends: false\nadd-commit-metadata: {a: host, c: host}\n",
      "base.yaml": "ref: base/x\nreleasever: 41\npackages: [kernel]\npostprocess: [base]\nrecommends: true\nadd-commit-metadata: {a: base, b: base}\n",
    });
    const { treefile, files } = await load(dir);
    expect(treefile).toMatchObject({
      ref: "host/x86_64",
      releasever: "41",
      packages: ["kernel", "vim"],
      postprocess: ["base"],
      recommends: false,
      addCommitMetadata: { a: "host", b: "base", c: "host" },
    });
    expect(files).toEqual([join(dir, "host.yaml"), join(dir, "base.yaml")]);
  });

  it("follows nested includes depth first, each relative to its includer", async () => {
    const dir = await makeDir({
      "host.yaml": "include: [manifests/middle.yaml]\nref: os/x\npostprocess: [host]\n",
      "manifests/middle.yaml": "include: common/leaf.yaml\npostprocess: [middle]\nmutate-os-release: middle\n",
      "manifests/common/leaf.yaml": "postprocess: [leaf]\nmutate-os-release: leaf\ndefault-target: multi-user.target\n",
    });
    const { treefile, files } = await load(dir);
    expect(treefile.postprocess).toEqual(["leaf", "middle", "host"]);
    expect(treefile.mutateOsRelease).toBe("middle");
    expect(treefile.defaultTarget).toBe("multi-user.target");
    expect(files.map((f) => f.slice(dir.length + 1))).toEqual(["host.yaml", "manifests/middle.yaml", "manifests/common/leaf.yaml"]);
  });

  it("orders lists of several includes as rpm-ostree: later includes first; the first include wins scalars", async () => {
    const dir = await makeDir({
      "host.yaml": "include: [kernel.yaml, bootupd.yaml]\nref: os/x\npostprocess: [echo foo]\n",
      "kernel.yaml": "postprocess: [echo bar]\nmutate-os-release: kernel\n",
      "bootupd.yaml": "postprocess: [echo baz]\nmutate-os-release: bootupd\n",
    });
    const { treefile } = await load(dir);
    expect(treefile.postprocess).toEqual(["echo baz", "echo bar", "echo foo"]);
    expect(treefile.mutateOsRelease).toBe("kernel");
  });

  it("applies packages-<arch> per file, before merging", async () => {
    const dir = await makeDir({
      "host.yaml": "include: base.yaml\nref: os/x\npackages: [vim]\npackages-x86_64: [microcode_ctl]\n",
      "base.yaml": "packages: [kernel]\npackages-x86_64: [shim-x64]\npackages-aarch64: [shim-aa64]\n",
    });
    expect((await load(dir)).treefile.packages).toEqual(["kernel", "shim-x64", "vim", "microcode_ctl"]);
  });

  it("substitutes after merging, reporting against the file that set the value", async () => {
    const dir = await makeDir({
      "host.yaml": "include: base.yaml\nreleasever: 42\n",
      "base.yaml": "ref: fedora/${releasever}/${basearch}\nautomatic-version-prefix: ${releasever}.<date:%Y%m%d>\nadd-commit-metadata: {bad: '${nope}'}\n",
    });
    expect(await rejectedIssues(load(dir))).toEqual([
      { file: "base.yaml", key: "add-commit-metadata.bad", message: expect.stringContaining('unknown variable "${nope}"') as string },
    ]);
    await writeFile(join(dir, "base.yaml"), "ref: fedora/${releasever}/${basearch}\nautomatic-version-prefix: ${releasever}.<date:%Y%m%d>\n");
    expect((await load(dir)).treefile).toMatchObject({ ref: "fedora/42/x86_64", automaticVersionPrefix: "42.<date:%Y%m%d>" });
  });

  it("reports an include cycle, naming it", async () => {
    const dir = await makeDir({
      "host.yaml": "include: a.yaml\nref: os/x\n",
      "a.yaml": "include: sub/b.yaml\n",
      "sub/b.yaml": "include: ../a.yaml\n",
    });
    expect(await rejectedIssues(load(dir))).toEqual([{ file: "sub/b.yaml", key: "include", message: "include cycle: a.yaml -> sub/b.yaml -> a.yaml" }]);
  });

  it("reports a file including itself, and one included twice", async () => {
    const self = await makeDir({ "host.yaml": "include: [./host.yaml]\nref: os/x\n" });
    expect(await rejectedIssues(load(self))).toEqual([{ file: "host.yaml", key: "include.0", message: "include cycle: host.yaml -> host.yaml" }]);
    const diamond = await makeDir({ "host.yaml": "include: [a.yaml, b.yaml]\nref: os/x\n", "a.yaml": "include: common.yaml\n", "b.yaml": "include: common.yaml\n", "common.yaml": "packages: [bash]\n" });
    expect(await rejectedIssues(load(diamond))).toEqual([
      { file: "b.yaml", key: "include", message: "common.yaml is already included by a.yaml; a treefile may be included only once" },
    ]);
  });

  it("stops at the include depth limit", async () => {
    const files: Record<string, string> = { "host.yaml": "include: f1.yaml\nref: os/x\n" };
    for (let i = 1; i <= 51; i++) files[`f${i}.yaml`] = i < 51 ? `include: f${i + 1}.yaml\n` : "packages: [bash]\n";
    const dir = await makeDir(files);
    expect(await rejectedIssues(load(dir))).toEqual([{ file: "f50.yaml", key: "include", message: "includes nest deeper than 50 levels" }]);
    delete files["f51.yaml"];
    files["f50.yaml"] = "packages: [bash]\n";
    const ok = await makeDir(files);
    expect((await load(ok)).files).toHaveLength(51);
  });

  it("keeps includes inside the definition root", async () => {
    const outside = await makeDir({ "evil.yaml": "packages: [evil]\n" });
    const dir = await makeDir({
      "host.yaml": `include: [../../etc/passwd.yaml, /etc/x.yaml, link.yaml, missing.yaml, passwd]\nref: os/x\n`,
      "link.yaml": { symlink: join(outside, "evil.yaml") },
    });
    expect(await rejectedIssues(load(dir))).toEqual([
      { file: "host.yaml", key: "include.0", message: '"../../etc/passwd.yaml" is outside the definition root' },
      { file: "host.yaml", key: "include.1", message: '"/etc/x.yaml" must be relative to the directory of the file that names it' },
      { file: "host.yaml", key: "include.4", message: '"passwd" must end in .yaml, .yml or .json' },
      { file: "host.yaml", key: "include.2", message: '"link.yaml" resolves (through a symlink) outside the definition root' },
      { file: "host.yaml", key: "include.3", message: '"missing.yaml" does not exist' },
    ]);
  });

  it("takes a wider root when given one", async () => {
    const dir = await makeDir({ "hosts/web.yaml": "include: ../common/base.yaml\nref: os/x\n", "common/base.yaml": "packages: [bash]\n" });
    expect((await loadTreefile(join(dir, "hosts/web.yaml"), { basearch: "x86_64", root: dir })).treefile.packages).toEqual(["bash"]);
    expect((await rejectedIssues(load(dir, "hosts/web.yaml")))[0]).toMatchObject({ key: "include", message: '"../common/base.yaml" is outside the definition root' });
  });

  it("collects the problems of every file", async () => {
    const dir = await makeDir({ "host.yaml": "include: base.yaml\nref: os/x\nbogus: 1\n", "base.yaml": "units: 3\nother: 2\n" });
    expect((await rejectedIssues(load(dir))).map((i) => `${i.file}: ${i.key}`)).toEqual(["host.yaml: bogus", "base.yaml: units", "base.yaml: other"]);
  });
});

describe("loadTreefile: add-files", () => {
  it("resolves sources relative to the treefile naming them", async () => {
    const dir = await makeDir({
      "host.yaml": "include: sub/part.yaml\nref: os/x\nadd-files: [[files/a.conf, /usr/lib/a.conf]]\n",
      "sub/part.yaml": "add-files: [[b.conf, /etc/b.conf]]\n",
      "files/a.conf": "a",
      "sub/b.conf": "b",
    });
    expect((await load(dir)).treefile.addFiles).toEqual([
      { source: "sub/b.conf", sourcePath: join(dir, "sub/b.conf"), dest: "/etc/b.conf" },
      { source: "files/a.conf", sourcePath: join(dir, "files/a.conf"), dest: "/usr/lib/a.conf" },
    ]);
  });

  it("keeps sources inside the definition root: .., absolute, symlinks out", async () => {
    const outside = await makeDir({ "secret": "s" });
    const dir = await makeDir({
      "host.yaml": `ref: os/x\nadd-files:\n  - [../x, /etc/x]\n  - [/etc/passwd, /etc/passwd]\n  - [link, /etc/link]\n  - [missing, /etc/m]\n  - [dir, /etc/d]\n  - [ok/../fine, /etc/fine]\n`,
      link: { symlink: join(outside, "secret") },
      "dir/file": "",
      fine: "f",
    });
    expect(await rejectedIssues(load(dir))).toEqual([
      { file: "host.yaml", key: "add-files.0.0", message: '"../x" is outside the definition root' },
      { file: "host.yaml", key: "add-files.1.0", message: '"/etc/passwd" must be relative to the directory of the file that names it' },
      { file: "host.yaml", key: "add-files.2.0", message: '"link" resolves (through a symlink) outside the definition root' },
      { file: "host.yaml", key: "add-files.3.0", message: '"missing" does not exist' },
      { file: "host.yaml", key: "add-files.4.0", message: '"dir" is not a regular file' },
    ]);
  });

  it("allows a symlink that stays inside the root", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\nadd-files: [[link, /etc/l]]\n", "real/file": "r", link: { symlink: "real/file" } });
    expect((await load(dir)).treefile.addFiles).toEqual([{ source: "link", sourcePath: join(dir, "link"), dest: "/etc/l" }]);
  });

  it("allows destinations only under /usr and /etc, absolute and normalised", async () => {
    const dir = await makeDir({
      "host.yaml": `ref: os/x\nadd-files:\n  - [f, /var/lib/f]\n  - [f, usr/lib/f]\n  - [f, /usr/../etc/shadow]\n  - [f, /usr//lib/f]\n  - [f, /usr]\n  - [f, /usrlocal/f]\n  - [f, /etc/]\n  - [f]\n`,
      f: "",
    });
    const issues = await rejectedIssues(load(dir));
    expect(issues.map((i) => [i.key, i.message])).toEqual([
      ["add-files.0.1", '"/var/lib/f" must be under /usr or /etc (the only directories ostree manages)'],
      ["add-files.1.1", '"usr/lib/f" must be an absolute path'],
      ["add-files.2.1", '"/usr/../etc/shadow" must be a normalised path (no //, . or .., no trailing /)'],
      ["add-files.3.1", '"/usr//lib/f" must be a normalised path (no //, . or .., no trailing /)'],
      ["add-files.4.1", '"/usr" must be under /usr or /etc (the only directories ostree manages)'],
      ["add-files.5.1", '"/usrlocal/f" must be under /usr or /etc (the only directories ostree manages)'],
      ["add-files.6.1", '"/etc/" must be a normalised path (no //, . or .., no trailing /)'],
      ["add-files.7", "expected a [source, destination] pair of strings, got [\"f\"]"],
    ]);
  });

  it("checks remove-files paths", async () => {
    const dir = await makeDir({ "host.yaml": "ref: os/x\nremove-files: [usr/share/doc, /etc/x, usr/../etc, usr/share/]\n" });
    expect((await rejectedIssues(load(dir))).map((i) => i.key)).toEqual(["remove-files.1", "remove-files.2", "remove-files.3"]);
  });
});
