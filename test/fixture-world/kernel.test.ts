// The pieces the kernel package is made of, checked without building a world: module
// selection from modules.dep, and the cpio writer against GNU cpio.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "@atomic-ci/tools";
import { describe, expect, it } from "vitest";
import { env, tempDir } from "./helpers.js";
import { writeCpio } from "./src/kernel/cpio.js";
import { loadOrder, moduleName, parseModulesDep } from "./src/kernel/modules.js";
import { renderSpec } from "./src/spec.js";

const MODULES_DEP = `kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko.xz: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
`;

describe("kernel modules", () => {
  it("names modules as modprobe does", () => {
    expect(moduleName("kernel/drivers/char/hw_random/virtio-rng.ko.xz")).toBe("virtio_rng");
    expect(moduleName("kernel/fs/ext4/ext4.ko")).toBe("ext4");
  });

  it("loads dependencies first, each once", () => {
    const deps = parseModulesDep(MODULES_DEP);
    expect(loadOrder(deps, ["virtio_blk", "ext4", "virtio_rng"])).toEqual([
      "kernel/drivers/virtio/virtio_ring.ko",
      "kernel/drivers/virtio/virtio.ko",
      "kernel/drivers/block/virtio_blk.ko",
      "kernel/fs/jbd2/jbd2.ko",
      "kernel/fs/mbcache.ko",
      "kernel/lib/crc16.ko",
      "kernel/fs/ext4/ext4.ko",
      "kernel/drivers/char/hw_random/virtio-rng.ko.xz",
    ]);
  });

  it("refuses a module the kernel does not have as a module", () => {
    expect(() => loadOrder(parseModulesDep(MODULES_DEP), ["btrfs"])).toThrow(/btrfs is not in modules.dep/);
  });
});

describe("cpio newc writer", () => {
  it("writes an archive GNU cpio lists: files, directories, symlinks and device nodes, owned by root", async () => {
    const dir = await tempDir("cpio");
    const archive = writeCpio(
      [
        { path: "bin", type: "dir", mode: 0o755 },
        { path: "bin/hello", type: "file", mode: 0o755, data: Buffer.from("#!/bin/sh\necho hi\n") },
        { path: "bin/sh", type: "symlink", target: "hello" },
        { path: "dev", type: "dir", mode: 0o755 },
        { path: "dev/console", type: "char", mode: 0o600, major: 5, minor: 1 },
        { path: "odd", type: "file", mode: 0o644, data: Buffer.from("x") },
      ],
      1729000000,
    );
    await writeFile(join(dir, "a.cpio"), archive);
    const list = await runTool("cpio", ["-itv", "--numeric-uid-gid", "-F", join(dir, "a.cpio")], { env: { ...env, TZ: "UTC" }, timeoutMs: 10_000 });
    const lines = list.stdout.trim().split("\n");
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^-rwxr-xr-x\s+1 0\s+0\s+18 Oct 15\s+2024 bin\/hello$/);
    expect(lines[2]).toMatch(/^lrwxrwxrwx .* bin\/sh -> hello$/);
    expect(lines[4]).toMatch(/^crw-------\s+1 0\s+0\s+5,\s+1 .* dev\/console$/);
    const content = await runTool("cpio", ["-i", "--to-stdout", "-F", join(dir, "a.cpio"), "bin/hello"], { env, timeoutMs: 10_000 });
    expect(content.stdout).toBe("#!/bin/sh\necho hi\n");
    expect(archive.length % 4).toBe(0);
    expect(writeCpio([{ path: "x", type: "dir", mode: 0o755 }], 1).equals(writeCpio([{ path: "x", type: "dir", mode: 0o755 }], 1))).toBe(true);
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses paths that climb out of the archive", () => {
    expect(() => writeCpio([{ path: "../etc/passwd", type: "dir", mode: 0o755 }], 0)).toThrow(/bad path/);
  });
});

describe("spec rendering", () => {
  it("escapes % in payloads and lists modes, symlinks and directories", () => {
    const spec = renderSpec(
      {
        name: "demo",
        summary: "s",
        description: "d",
        license: "MIT",
        url: "https://example.invalid",
        arch: "noarch",
        tests: "none",
        versions: [{ version: "1.0", repo: "stable", date: "2024-10-29T12:00:00Z", changelog: "First 100% done" }],
        binaries: () => [
          {
            name: "demo",
            summary: "s",
            requires: ["bash"],
            files: [
              { path: "/etc/demo.conf", content: "%wheel ALL\n" },
              { path: "/usr/bin/demo", content: "#!/bin/sh\n", mode: 0o755 },
              { path: "/usr/bin/demo2", symlink: "demo" },
              { path: "/var/lib/demo", dir: true, mode: 0o700 },
            ],
          },
        ],
      },
      { version: "1.0", repo: "stable", date: "2024-10-29T12:00:00Z", changelog: "First 100% done" },
      [{ version: "1.0", repo: "stable", date: "2024-10-29T12:00:00Z", changelog: "First 100% done" }],
    );
    expect(spec).toContain("\n%%wheel ALL\nFIXTURE_WORLD_EOF\n");
    expect(spec).toContain("%attr(0755,root,root) /usr/bin/demo\n");
    expect(spec).toContain("%dir %attr(0700,root,root) /var/lib/demo\n");
    expect(spec).toContain("\nln -s demo %{buildroot}/usr/bin/demo2\n");
    expect(spec).toContain("* Tue Oct 29 2024 Fixture Packager <packager@fixture.invalid> - 1.0-1.fc41\n- First 100%% done\n");
  });
});
