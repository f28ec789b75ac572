// Key-container tests: the host definition's `containers.yaml` lists the container images the
// host must be able to run (OCI image layouts in an image store the test-runner is configured
// with), each with a smoke command and what it must print. Read with git at the definition
// commit, like the host tests; validated with zod, every problem named by file and key.
import { isAbsolute, join, posix } from "node:path";
import { z } from "zod";
import type { ToolContext } from "@atomic-ci/tools";
import { DiscoveryError, type TestCase } from "../model.js";
import { parseDuration } from "./duration.js";
import { treeAt } from "./git-tree.js";
import { parseYaml } from "./yaml.js";

export const CONTAINERS_FILE = "containers.yaml";
/** Second part of every key-container test case name: `<namespace>.container.<image>.functional`. */
export const CONTAINER_TEST_PART = "container";
/** A smoke command's default time limit (an image's whole test: layout, unpack, run). */
export const DEFAULT_CONTAINER_TIMEOUT_MS = 2 * 60_000;
const RESERVED_NAMES = ["discovery"];

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;
/** The OCI image-spec grammar of `org.opencontainers.image.ref.name` (a tag such as `41` or `v1.2`). */
const OCI_REF = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/;

const argvWord = z.string().min(1, "must not be empty").refine((s) => !CONTROL.test(s), "must not contain control characters");
const argv = z.array(argvWord).min(1, "must name a program (an argument vector, no shell)");
/** A layout directory below the image store: relative, normalised, no `..`, no `:` (the `oci:` separator). */
const storePath = z
  .string()
  .min(1)
  .refine((p) => !CONTROL.test(p) && !p.includes(":"), "must not contain control characters or ':'")
  .refine((p) => !isAbsolute(p) && posix.normalize(p) === p && !p.endsWith("/") && p !== "." && !p.split("/").includes(".."), "must be a normalised path relative to the image store (no '..', no leading '/')");
const duration = z.union([z.string(), z.number()]);

const imageSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be lowercase letters, digits, '_' and '-' (it names the test case)")
      .refine((n) => !RESERVED_NAMES.includes(n), "is reserved"),
    layout: storePath.optional().describe("OCI image layout directory, relative to the image store"),
    image: z
      .string()
      .regex(/^oci:[^:]+(:.+)?$/, "must be oci:<layout>[:<ref>]")
      .optional()
      .describe("skopeo's spelling of layout + ref: oci:<layout>[:<ref>]"),
    ref: z.string().regex(OCI_REF, "must be an OCI reference name (org.opencontainers.image.ref.name)").optional(),
    digest: z.string().regex(/^sha256:[a-f0-9]{64}$/, "must be sha256:<64 lowercase hex digits>").optional().describe("Manifest digest the image must have"),
    entrypoint: z.array(argvWord).optional().describe("Replaces the image's Entrypoint (podman run --entrypoint)"),
    command: argv.optional().describe("The smoke command: replaces the image's Cmd (podman run IMAGE COMMAND...)"),
    user: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/, "must be user[:group], names or numbers")
      .optional()
      .describe("Replaces the image's User"),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name"), z.string().refine((s) => !s.includes("\0"), "must not contain NUL")).optional(),
    expect: z
      .strictObject({
        "exit-code": z.int().min(0).max(255).default(0),
        output: z
          .string()
          .min(1)
          .refine((r) => compiles(r), "must be a valid regular expression")
          .optional()
          .describe("Must match somewhere in stdout+stderr (multiline: ^ and $ match at lines)"),
      })
      .prefault({}),
    timeout: duration.optional(),
  })
  .superRefine((image, issue) => {
    if ((image.layout === undefined) === (image.image === undefined)) issue.addIssue({ code: "custom", message: "needs exactly one of layout and image", path: ["layout"] });
    if (image.image !== undefined) {
      const { layout, ref } = splitOci(image.image);
      if (!storePath.safeParse(layout).success) issue.addIssue({ code: "custom", message: "layout part must be a normalised path relative to the image store", path: ["image"] });
      if (ref !== undefined && !OCI_REF.test(ref)) issue.addIssue({ code: "custom", message: "ref part must be an OCI reference name", path: ["image"] });
      if (ref !== undefined && image.ref !== undefined) issue.addIssue({ code: "custom", message: "names a ref and so does `ref`: use one", path: ["ref"] });
    }
  });

export const containersFileSchema = z.strictObject({
  runtime: z
    .strictObject({
      commands: z.array(argv).default([]).describe("Commands (argv) that must exit 0 in the host sandbox before any image runs, e.g. [podman, --version]"),
    })
    .prefault({}),
  images: z
    .array(imageSchema)
    .default([])
    .superRefine((images, issue) => {
      const seen = new Set<string>();
      images.forEach((image, i) => {
        if (seen.has(image.name)) issue.addIssue({ code: "custom", message: `duplicate image name ${JSON.stringify(image.name)}`, path: [i, "name"] });
        seen.add(image.name);
      });
    }),
});
export type ContainersFile = z.output<typeof containersFileSchema>;

/** One key image as the runner needs it: where it is, what to run, what must come out. */
export interface ContainerImageSpec {
  name: string;
  /** The layout directory, relative to `store`. */
  layout: string;
  /** The image store root the layout is confined to (absolute). */
  store: string;
  ref?: string;
  digest?: string;
  entrypoint?: string[];
  command?: string[];
  user?: string;
  env: Record<string, string>;
  expect: { exitCode: number; output?: string };
  timeoutMs: number;
}

/** A host test that runs a key image: a TestCase (so it is planned, named and reported like one) plus the image. */
export interface ContainerTestCase extends TestCase {
  container: {
    image: ContainerImageSpec;
    /** `runtime.commands`: argv run in the host sandbox, each must exit 0. */
    runtime: string[][];
  };
}

export function isContainerTest(test: TestCase): test is ContainerTestCase {
  return typeof (test as Partial<ContainerTestCase>).container === "object";
}

/** Parse containers.yaml; `store` (the image store root) is needed as soon as one image is listed. */
export function parseContainers(content: string, opts: { file?: string; package: string; commit: string; store?: string }): ContainerTestCase[] {
  const file = opts.file ?? CONTAINERS_FILE;
  const doc = parseYaml(content, file);
  const parsed = containersFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => ({ key: i.path.length > 0 ? i.path.join(".") : "(document)", message: i.message }));
    const [first, ...rest] = problems;
    throw new DiscoveryError(file, first?.key ?? "(document)", `${first?.message ?? "invalid"}${rest.map((p) => `\n${file}: ${p.key}: ${p.message}`).join("")}`);
  }
  const { runtime, images } = parsed.data;
  if (images.length === 0) return [];
  if (opts.store === undefined) throw new DiscoveryError(file, "images", "lists key images but no image store is configured (testRunner.containers.imageStore)");
  if (!isAbsolute(opts.store)) throw new DiscoveryError(file, "images", `the image store ${JSON.stringify(opts.store)} must be an absolute path`);
  const store = opts.store;
  return images.map((image, i) => {
    const oci = image.image !== undefined ? splitOci(image.image) : undefined;
    const ref = oci?.ref ?? image.ref;
    const timeoutMs = image.timeout === undefined ? DEFAULT_CONTAINER_TIMEOUT_MS : parseDuration(image.timeout, file, `images.${i}.timeout`);
    const spec: ContainerImageSpec = {
      name: image.name,
      layout: oci?.layout ?? image.layout ?? "",
      store,
      env: image.env ?? {},
      expect: { exitCode: image.expect["exit-code"], ...(image.expect.output !== undefined ? { output: image.expect.output } : {}) },
      timeoutMs,
    };
    if (ref !== undefined) spec.ref = ref;
    if (image.digest !== undefined) spec.digest = image.digest;
    if (image.entrypoint !== undefined) spec.entrypoint = image.entrypoint;
    if (image.command !== undefined) spec.command = image.command;
    if (image.user !== undefined) spec.user = image.user;
    return {
      id: `${opts.package}/host/${file}/${image.name}`,
      package: opts.package,
      source: "host",
      name: image.name,
      dir: ".",
      command: image.command ?? [],
      requires: [],
      timeoutMs,
      allowedReruns: 0,
      environment: image.env ?? {},
      commit: opts.commit,
      file,
      container: { image: spec, runtime: runtime.commands },
    };
  });
}

/** The key images of the definition at `rev`; none when it has no containers.yaml. */
export async function discoverContainerTests(opts: { repo: string; rev: string; name: string; store?: string }, ctx: ToolContext): Promise<{ commit: string; tests: ContainerTestCase[] }> {
  const tree = await treeAt(opts.repo, opts.rev, ctx);
  if (!tree.files.includes(CONTAINERS_FILE)) return { commit: tree.commit, tests: [] };
  const parseOpts: { package: string; commit: string; store?: string } = { package: opts.name, commit: tree.commit };
  if (opts.store !== undefined) parseOpts.store = opts.store;
  return { commit: tree.commit, tests: parseContainers(await tree.read(CONTAINERS_FILE), parseOpts) };
}

/** The layout directory of an image (lexically inside the store; the runner checks it again on disk). */
export function layoutDir(image: Pick<ContainerImageSpec, "store" | "layout">): string {
  return join(image.store, image.layout);
}

function splitOci(reference: string): { layout: string; ref?: string } {
  const rest = reference.slice("oci:".length);
  const colon = rest.indexOf(":");
  return colon < 0 ? { layout: rest } : { layout: rest.slice(0, colon), ref: rest.slice(colon + 1) };
}

function compiles(source: string): boolean {
  try {
    new RegExp(source, "m");
    return true;
  } catch {
    return false;
  }
}
