import { describe, expect, it } from "vitest";
import { parsePackageSpec } from "./package-spec.js";

describe("parsePackageSpec", () => {
  it("keeps names that only look a little like NVRs", () => {
    for (const spec of ["kernel", "NetworkManager-wifi", "java-17-openjdk", "perl-Test-Simple", "xorg-x11-drv-intel", "ntfs-3g"]) {
      expect(parsePackageSpec(spec)).toEqual({ ok: true, value: { spec, name: spec } });
    }
  });

  it("reads version pins", () => {
    expect(parsePackageSpec("kernel-6.9.11-100.fc39")).toEqual({
      ok: true,
      value: { spec: "kernel-6.9.11-100.fc39", name: "kernel", evr: { version: "6.9.11", release: "100.fc39" } },
    });
    expect(parsePackageSpec("java-17-openjdk-17.0.9-1.fc39")).toMatchObject({ ok: true, value: { name: "java-17-openjdk", evr: { version: "17.0.9" } } });
    expect(parsePackageSpec("shim-x64-1:15.8-3.x86_64")).toEqual({
      ok: true,
      value: { spec: "shim-x64-1:15.8-3.x86_64", name: "shim-x64", evr: { epoch: 1, version: "15.8", release: "3" }, arch: "x86_64" },
    });
  });

  it("reads a name with an arch", () => {
    expect(parsePackageSpec("glibc.i686")).toEqual({ ok: true, value: { spec: "glibc.i686", name: "glibc", arch: "i686" } });
  });

  it.each(["podman>=4.1", "'podman'", "kernel*", "foo;id", "$(id)", "-x", "foo-1:bar-1", "kernel-6.9.11-100.fc39;id"])("refuses %j", (spec) => {
    expect(parsePackageSpec(spec).ok).toBe(false);
  });
});
