import { describe, expect, it } from "vitest";
import { nevraOf, parsePrimary, primaryHref, rpmsOfBuilds } from "./repodata.js";

const pkg = (name: string, epoch: number, ver: string, rel: string, arch: string, srpm: string) => `<package type="rpm">
  <name>${name}</name>
  <arch>${arch}</arch>
  <version epoch="${epoch}" ver="${ver}" rel="${rel}"/>
  <format>
    <rpm:sourcerpm>${srpm}</rpm:sourcerpm>
  </format>
</package>`;

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata packages="4">
${pkg("ostree", 0, "2024.9", "1.fc41", "x86_64", "ostree-2024.9-1.fc41.src.rpm")}
${pkg("ostree-libs", 0, "2024.9", "1.fc41", "x86_64", "ostree-2024.9-1.fc41.src.rpm")}
${pkg("podman", 5, "5.3.0", "1.fc41", "x86_64", "podman-5.3.0-1.fc41.src.rpm")}
${pkg("ostree", 0, "2024.9", "1.fc41", "src", "")}
</metadata>`;

describe("candidate repository metadata", () => {
  it("maps a build NVR to its binary RPMs by source RPM, with the epoch when there is one", () => {
    const rpms = rpmsOfBuilds(parsePrimary(PRIMARY), ["ostree-2024.9-1.fc41", "podman-5.3.0-1.fc41", "bash-5.2-1.fc41"]);
    expect(Object.fromEntries(rpms)).toEqual({
      "ostree-2024.9-1.fc41": ["ostree-2024.9-1.fc41.x86_64", "ostree-libs-2024.9-1.fc41.x86_64"],
      "podman-5.3.0-1.fc41": ["podman-5:5.3.0-1.fc41.x86_64"],
      "bash-5.2-1.fc41": [],
    });
  });

  it("finds primary in repomd.xml", () => {
    const repomd = `<repomd><data type="filelists"><location href="repodata/f.xml.gz"/></data><data type="primary"><checksum>x</checksum><location href="repodata/abc-primary.xml.gz"/></data></repomd>`;
    expect(primaryHref(repomd)).toBe("repodata/abc-primary.xml.gz");
    expect(primaryHref("<repomd/>")).toBeUndefined();
  });

  it("formats NEVRAs without a zero epoch", () => {
    expect(nevraOf({ name: "a", epoch: 0, version: "1", release: "2", arch: "noarch" })).toBe("a-1-2.noarch");
    expect(nevraOf({ name: "a", epoch: 2, version: "1", release: "2", arch: "noarch" })).toBe("a-2:1-2.noarch");
  });
});
