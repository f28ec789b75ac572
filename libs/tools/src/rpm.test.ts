import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createrepo } from "./createrepo.js";
import { isToolError } from "./errors.js";
import { formatEvr, formatNevra, queryRpmDeps, queryRpmFiles, queryRpmHeader, queryRpmHeaders, rpmFileDigest } from "./rpm.js";
import { rpmbuild } from "./rpmbuild.js";

const ctx = { env: { PATH: process.env["PATH"] } };
const root = mkdtempSync(join(tmpdir(), "tools-rpm-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const SPEC = `Name: hello
Epoch: 2
Version: 1.0
Release: 3%{?dist}
Summary: A fixture package
License: MIT
BuildArch: noarch
Requires: bash >= 5
Provides: greeting = %{version}

%description
Prints a greeting.

%package extra
Summary: More greetings
Requires: %{name} = %{epoch}:%{version}-%{release}

%description extra
More.

%install
mkdir -p %{buildroot}/usr/share/hello
echo %{greeting} > %{buildroot}/usr/share/hello/greeting
echo extra > %{buildroot}/usr/share/hello/extra

%files
/usr/share/hello/greeting

%files extra
/usr/share/hello/extra
`;

const repro = { sourceDateEpoch: 1730203200, buildHost: "fixture.invalid" };
let built: string[] = [];

beforeAll(async () => {
  writeFileSync(join(root, "hello.spec"), SPEC);
  const result = await rpmbuild({
    ...ctx,
    spec: join(root, "hello.spec"),
    topdir: join(root, "top"),
    rpmDir: join(root, "repo"),
    defines: { dist: ".fc41", greeting: "hi" },
    reproducible: repro,
  });
  built = result.rpms;
});

describe("rpmbuild", () => {
  it("builds in a private topdir and returns the packages it wrote", () => {
    expect(built).toEqual([
      join(root, "repo", "noarch", "hello-1.0-3.fc41.noarch.rpm"),
      join(root, "repo", "noarch", "hello-extra-1.0-3.fc41.noarch.rpm"),
    ]);
    for (const file of built) expect(existsSync(file)).toBe(true);
  });

  it("is byte-reproducible with a fixed SOURCE_DATE_EPOCH and build host", async () => {
    const again = await rpmbuild({
      ...ctx,
      spec: join(root, "hello.spec"),
      topdir: join(root, "top2"),
      defines: { dist: ".fc41", greeting: "hi" },
      reproducible: repro,
    });
    const digest = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");
    expect(again.rpms.map(digest)).toEqual(built.map(digest));
  });

  it("reports a broken spec as a tool failure with rpmbuild's complaint", async () => {
    writeFileSync(join(root, "broken.spec"), "Name: broken\n");
    const err: unknown = await rpmbuild({ ...ctx, spec: join(root, "broken.spec"), topdir: join(root, "top3") }).catch((e: unknown) => e);
    expect(isToolError(err, "TOOL_FAILED")).toBe(true);
    expect((err as Error).message).toMatch(/Version|Summary|field/i);
  });
});

describe("rpm queries", () => {
  it("reads name, epoch, version, release, arch and digests from the header", async () => {
    const [main, extra] = await queryRpmHeaders(built, ctx);
    expect(main).toMatchObject({
      name: "hello",
      epoch: 2,
      version: "1.0",
      release: "3.fc41",
      arch: "noarch",
      sourceRpm: "hello-1.0-3.fc41.src.rpm",
      buildTime: repro.sourceDateEpoch,
    });
    expect(main?.sha256Header).toMatch(/^[0-9a-f]{64}$/);
    expect(extra?.name).toBe("hello-extra");
    expect(extra?.sha256Header).not.toBe(main?.sha256Header);
    expect(formatEvr(main ?? { epoch: null, version: "", release: "" })).toBe("2:1.0-3.fc41");
    expect(formatNevra({ name: "x", epoch: null, version: "1", release: "2", arch: "noarch" })).toBe("x-1-2.noarch");
  });

  it("lists requires, provides and files", async () => {
    const main = built[0] ?? "";
    expect(await queryRpmDeps(main, "requires", ctx)).toContain("bash >= 5");
    expect(await queryRpmDeps(main, "provides", ctx)).toEqual(expect.arrayContaining(["greeting = 1.0", "hello = 2:1.0-3.fc41"]));
    expect(await queryRpmFiles(main, ctx)).toEqual(["/usr/share/hello/greeting"]);
    expect((await queryRpmHeader(built[1] ?? "", ctx)).name).toBe("hello-extra");
  });

  it("computes the repodata digest of the file", async () => {
    const main = built[0] ?? "";
    expect(await rpmFileDigest(main)).toBe(`sha256:${createHash("sha256").update(readFileSync(main)).digest("hex")}`);
  });

  it("fails on a file that is not a package", async () => {
    writeFileSync(join(root, "not.rpm"), "not a package");
    const err: unknown = await queryRpmHeaders([join(root, "not.rpm")], ctx).catch((e: unknown) => e);
    expect(isToolError(err, "TOOL_FAILED")).toBe(true);
  });
});

describe("createrepo", () => {
  it("writes repodata whose primary lists the packages, with a fixed timestamp", async () => {
    const { repomd } = await createrepo({ ...ctx, dir: join(root, "repo"), revision: repro.sourceDateEpoch });
    const text = readFileSync(repomd, "utf8");
    expect(text).toContain(`<revision>${repro.sourceDateEpoch}</revision>`);
    expect(text).toContain(`<timestamp>${repro.sourceDateEpoch}</timestamp>`);
    const again = await createrepo({ ...ctx, dir: join(root, "repo"), revision: repro.sourceDateEpoch, update: true });
    expect(readFileSync(again.repomd, "utf8")).toBe(text);
  });
});
