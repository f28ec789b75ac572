// Key container images of the fixture world: real OCI image layouts (oci-layout, index.json,
// blobs/sha256/... holding a manifest, a config and gzip'ed tar layers) built from the
// machine's static busybox, and the host definition's containers.yaml naming the good one.
// Layers are written by GNU tar with fixed names, order, owners and times, and gzip'ed by
// zlib with a fixed header, so the same inputs always give the same digests (the world cache
// key holds). The images:
//   - fixture-toolbox (ref 41): base layer (busybox, passwd with `app` uid 1000, a stale file)
//     and an app layer (the smoke command, a greeting, a whiteout of the stale file). Its config
//     sets User app, Env, Entrypoint, Cmd and WorkingDir: the smoke command checks each.
//   - fixture-toolbox-broken (ref 41): the same plus a third layer whiting out the greeting,
//     so its smoke command fails at `FAIL fixture-toolbox/greeting`. Not in the definition:
//     tests use it to prove failures are caught.
import { createHash } from "node:crypto";
import { chmod, copyFile, mkdir, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { runTool, safePath, type ToolContext } from "@atomic-ci/tools";

export const CONTAINERS_FILE = "containers.yaml";
const REF = "41";
/** Layer file times and the config's `created`. */
const IMAGE_DATE = "2024-10-23T12:00:00Z";
const IMAGE_EPOCH = Date.parse(IMAGE_DATE) / 1000;
const APPLETS = ["sh", "cat", "echo", "env", "grep", "hostname", "id", "ls", "pwd", "sleep", "test", "touch", "["];

export interface WorldImage {
  /** The key image's name in containers.yaml (the test case is `atomic-ci.container.<name>.functional`). */
  name: string;
  /** Layout directory, relative to `store`. */
  layout: string;
  ref: string;
  manifestDigest: string;
  /** Absolute path of the layout. */
  path: string;
  /** For a broken image: how it is broken and how its test fails. */
  broken?: string;
}

export interface WorldContainers {
  /** The image store root (`testRunner.containers.imageStore`). */
  store: string;
  /** Listed in the definition's containers.yaml. */
  images: WorldImage[];
  /** Not listed: for tests that prove failures are detected. */
  broken: WorldImage[];
  /** The smoke command's expected output (a regular expression, as in containers.yaml). */
  expectedOutput: string;
}

const EXPECTED_OUTPUT = "^hello, world from fixture-toolbox \\(uid 1000\\)$";

const SMOKE = `#!/bin/sh
# fixture-toolbox's smoke command: checks what the image's layers and config promise.
set -eu
fail() { echo "FAIL fixture-toolbox/$1: $2"; exit 1; }
[ "\${1:-}" = greet ] || { echo "usage: smoke greet"; exit 2; }
[ -f /etc/fixture-toolbox/greeting ] || fail greeting "/etc/fixture-toolbox/greeting is missing"
[ ! -e /etc/fixture-toolbox/stale-greeting ] || fail whiteout "/etc/fixture-toolbox/stale-greeting was not whited out"
[ "$(id -u)" = 1000 ] || fail user "runs as uid $(id -u), the image's User is app (1000)"
[ "$(pwd)" = /home/app ] || fail workdir "the working directory is $(pwd), not the image's /home/app"
echo "$(cat /etc/fixture-toolbox/greeting), \${GREETING_NAME:-nobody} from fixture-toolbox (uid $(id -u))"
`;

type Stage = Record<string, { content?: string | { copy: string }; mode: number; link?: string; dir?: true }>;

const BASE_LAYER: Stage = {
  bin: { dir: true, mode: 0o755 },
  "bin/busybox": { content: { copy: "" }, mode: 0o755 },
  ...Object.fromEntries(APPLETS.map((a) => [`bin/${a}`, { link: "busybox", mode: 0o777 }])),
  etc: { dir: true, mode: 0o755 },
  "etc/passwd": { content: "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:Fixture app:/home/app:/bin/sh\n", mode: 0o644 },
  "etc/group": { content: "root:x:0:\napp:x:1000:\n", mode: 0o644 },
  "etc/os-release": { content: 'NAME="Fixture Toolbox"\nID=fixture-toolbox\nVERSION_ID=41\n', mode: 0o644 },
  "etc/fixture-toolbox": { dir: true, mode: 0o755 },
  "etc/fixture-toolbox/stale-greeting": { content: "stale\n", mode: 0o644 },
  home: { dir: true, mode: 0o755 },
  "home/app": { dir: true, mode: 0o755 },
  root: { dir: true, mode: 0o700 },
  tmp: { dir: true, mode: 0o1777 },
};

const APP_LAYER: Stage = {
  usr: { dir: true, mode: 0o755 },
  "usr/local": { dir: true, mode: 0o755 },
  "usr/local/bin": { dir: true, mode: 0o755 },
  "usr/local/bin/smoke": { content: SMOKE, mode: 0o755 },
  etc: { dir: true, mode: 0o755 },
  "etc/fixture-toolbox": { dir: true, mode: 0o755 },
  "etc/fixture-toolbox/greeting": { content: "hello\n", mode: 0o644 },
  "etc/fixture-toolbox/.wh.stale-greeting": { content: "", mode: 0o644 },
};

const BREAKING_LAYER: Stage = {
  etc: { dir: true, mode: 0o755 },
  "etc/fixture-toolbox": { dir: true, mode: 0o755 },
  "etc/fixture-toolbox/.wh.greeting": { content: "", mode: 0o644 },
};

interface Blob {
  digest: string;
  size: number;
}

/**
 * Write the image store (`<dir>/fixture-toolbox`, `<dir>/fixture-toolbox-broken`) and return
 * what world.json records (paths under `root`, where `dir` will be) and containers.yaml.
 */
export async function writeContainerImages(input: { dir: string; root: string; work: string; busybox: string; ctx: ToolContext }): Promise<{ world: WorldContainers; definition: string }> {
  const layers: { blob: Blob; diffId: string; gz: Buffer; comment: string }[] = [];
  for (const [i, [stage, comment]] of ([[BASE_LAYER, "base: busybox, users app (1000) and root"], [APP_LAYER, "app: the smoke command and its greeting"], [BREAKING_LAYER, "breaks it: whites out the greeting"]] as const).entries()) {
    const tar = await layerTar(stage, join(input.work, `layer-${i + 1}`), input.busybox, input.ctx);
    // level 9 and zlib's fixed header (no name, mtime 0): the same tar always gives the same bytes.
    const gz = gzipSync(tar, { level: 9 });
    layers.push({ blob: { digest: sha256(gz), size: gz.length }, diffId: sha256(tar), gz, comment });
  }
  const good = layers.slice(0, 2);
  const images: WorldImage[] = [];
  const broken: WorldImage[] = [];
  for (const [name, layout, which, why] of [
    ["toolbox", "fixture-toolbox", good, undefined],
    ["toolbox-broken", "fixture-toolbox-broken", layers, "a third layer whites out /etc/fixture-toolbox/greeting: the smoke command fails at FAIL fixture-toolbox/greeting"],
  ] as const) {
    const manifestDigest = await writeLayout(join(input.dir, layout), which);
    const image: WorldImage = { name, layout, ref: REF, manifestDigest, path: join(input.root, layout) };
    if (why) broken.push({ ...image, broken: why });
    else images.push(image);
  }
  await rm(input.work, { recursive: true, force: true });
  return { world: { store: input.root, images, broken, expectedOutput: EXPECTED_OUTPUT }, definition: containersYaml(images) };
}

async function writeLayout(dir: string, layers: readonly { blob: Blob; diffId: string; gz: Buffer; comment: string }[]): Promise<string> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Buffer): Promise<Blob> => {
    const blob = { digest: sha256(bytes), size: bytes.length };
    await writeFile(join(blobs, blob.digest.slice("sha256:".length)), bytes);
    return blob;
  };
  for (const layer of layers) await put(layer.gz);
  const config = {
    created: IMAGE_DATE,
    architecture: "amd64",
    os: "linux",
    config: {
      User: "app",
      Env: ["PATH=/usr/local/bin:/bin", "GREETING_NAME=world"],
      Entrypoint: ["/usr/local/bin/smoke"],
      Cmd: ["--help"],
      WorkingDir: "/home/app",
      Labels: { "org.opencontainers.image.title": "fixture-toolbox" },
    },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: IMAGE_DATE, created_by: `atomic-ci fixture world: ${l.comment}` })),
  };
  const configBlob = await put(Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l.blob })),
    annotations: { "org.opencontainers.image.created": IMAGE_DATE },
  };
  const manifestBlob = await put(Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{ mediaType: manifest.mediaType, ...manifestBlob, annotations: { "org.opencontainers.image.ref.name": REF }, platform: { architecture: "amd64", os: "linux" } }],
  };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return manifestBlob.digest;
}

/** A layer's tar: the stage written to disk, then GNU tar with every varying field pinned. */
async function layerTar(stage: Stage, dir: string, busybox: string, ctx: ToolContext): Promise<Buffer> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [path, entry] of Object.entries(stage)) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    if (entry.dir) await mkdir(target, { recursive: true });
    else if (entry.link !== undefined) await symlink(entry.link, target);
    else if (typeof entry.content === "object") await copyFile(busybox, target);
    else await writeFile(target, entry.content ?? "");
    if (entry.link === undefined) await chmod(target, entry.mode);
  }
  const out = `${dir}.tar`;
  const members = (await readdir(dir)).sort();
  await runTool(
    "tar",
    ["--create", `--file=${safePath(out)}`, `--directory=${safePath(dir)}`, "--format=gnu", "--sort=name", `--mtime=@${IMAGE_EPOCH}`, "--owner=0", "--group=0", "--numeric-owner", "--", ...members],
    { env: ctx.env, timeoutMs: 60_000 },
  );
  return readFile(out);
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function containersYaml(images: readonly WorldImage[]): string {
  return `# Key container images (docs/tests.md, "Key-container tests"). On every compose of this host
# the test-runner runs the runtime commands in the composed tree, verifies each image's OCI
# layout, unpacks its layers and runs its smoke command. Layouts are looked up under the
# test-runner's testRunner.containers.imageStore.
runtime:
  commands:
    - [podman, --version]
    - [crun, --version]
    - [conmon, --version]
    # The trust policy podman needs before it runs any image.
    - [test, -f, /etc/containers/policy.json]
images:
${images
  .map(
    (image) => `  - name: ${image.name}
    layout: ${image.layout}
    ref: "${image.ref}"
    digest: ${image.manifestDigest}
    command: [greet]
    expect:
      exit-code: 0
      output: '${EXPECTED_OUTPUT}'
    timeout: 1m
`,
  )
  .join("")}`;
}
