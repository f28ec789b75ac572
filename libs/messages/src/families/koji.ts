import { z } from "zod";
import type { MessageFamily } from "../family.js";
import { defineSchema, Severity } from "../schema.js";

/** Koji build states (koji's `BUILD_STATES`); messages carry only the number. */
export const KOJI_BUILD_STATE = {
  BUILDING: 0,
  COMPLETE: 1,
  DELETED: 2,
  FAILED: 3,
  CANCELED: 4,
} as const;
export type KojiBuildStateName = keyof typeof KOJI_BUILD_STATE;
export type KojiBuildState = (typeof KOJI_BUILD_STATE)[KojiBuildStateName];

const STATE_NAMES = Object.fromEntries(
  Object.entries(KOJI_BUILD_STATE).map(([name, value]) => [value, name]),
) as Record<KojiBuildState, KojiBuildStateName>;

export function kojiBuildStateName(state: KojiBuildState): KojiBuildStateName {
  return STATE_NAMES[state];
}

const buildState = z.literal([0, 1, 2, 3, 4]);

/** What a finished task produced (file paths relative to the task's work dir). */
export const KojiTaskResult = z.union([
  z.null(),
  z.string(),
  z.looseObject({
    srpm: z.string().optional(),
    rpms: z.array(z.string()).optional(),
    srpms: z.array(z.string()).optional(),
    logs: z.array(z.string()).optional(),
    brootid: z.number().optional(),
    source: z.looseObject({ source: z.string().optional(), url: z.string().optional() }).optional(),
  }),
]);
export type KojiTaskResult = z.output<typeof KojiTaskResult>;

/** Koji task info (koji-fedoramessaging-messages' TASK_INFO); `children` nests sub-tasks. */
export const KojiTaskInfo = z
  .looseObject({
    id: z.int(),
    method: z.string(),
    arch: z.string(),
    host_id: z.int().nullable(),
    result: KojiTaskResult,
    url: z.string().optional(),
    priority: z.int().optional(),
    label: z.string().nullable().optional(),
    channel_id: z.int().optional(),
    request: z.array(z.unknown()).optional(),
    completion_time: z.number().nullable().optional(),
    start_time: z.number().nullable().optional(),
    create_time: z.number().optional(),
    waiting: z.boolean().nullable().optional(),
    awaited: z.boolean().nullable().optional(),
    state: z.int().optional(),
    host_name: z.string().nullable().optional(),
    parent: z.number().nullable().optional(),
    get children(): z.ZodOptional<z.ZodArray<typeof KojiTaskInfo>> {
      return z.array(KojiTaskInfo).optional();
    },
  })
  .meta({ id: "KojiTaskInfo" });
export type KojiTaskInfo = z.output<typeof KojiTaskInfo>;

export const KOJI_BUILD_STATE_CHANGE_TOPIC = "buildsys.build.state.change";

/**
 * Body of `buildsys.build.state.change`. Required fields follow BuildStateChangeV1 except
 * `task`, which messages from before the task info was added (2022) lack.
 */
export const KojiBuildStateChange = z.looseObject({
  build_id: z.int().nullable(),
  name: z.string(),
  version: z.string(),
  release: z.string(),
  epoch: z.union([z.string(), z.int()]).nullable(),
  owner: z.string().nullable(),
  instance: z.string(),
  attribute: z.string(),
  old: buildState.nullable(),
  new: buildState,
  request: z.array(z.unknown()).nullable(),
  task_id: z.int().nullable(),
  task: KojiTaskInfo.nullable().optional(),
  callback_id: z.int().nullable().optional(),
  creation_time: z.string(),
  completion_time: z.string().nullable(),
  url: z.string().nullable().optional(),
  base_url: z.string().optional(),
  files_base_url: z.string().optional(),
});
export type KojiBuildStateChange = z.output<typeof KojiBuildStateChange>;

export function kojiBuildNvr(body: { name: string; version: string; release: string }): string {
  return `${body.name}-${body.version}-${body.release}`;
}

export const KojiBuildStateChangeMessage = defineSchema({
  name: "koji_fedoramessaging.build.BuildStateChangeV1",
  schemaPackage: "koji_fedoramessaging_messages",
  topic: KOJI_BUILD_STATE_CHANGE_TOPIC,
  body: KojiBuildStateChange,
  description: "The state of a Koji build changed (a COMPLETE build is a candidate package change).",
  agentName: (body) => body.owner ?? undefined,
  usernames: (body) => (body.owner ? [body.owner] : []),
  packages: (body) => (body.name ? [body.name] : []),
  summary: (body) => `Build ${kojiBuildStateName(body.new)}: ${body.owner}'s ${kojiBuildNvr(body)}`,
});

export const KOJI_TAG_TOPIC = "buildsys.tag";

/**
 * Body of `buildsys.tag`. Upstream TagV1 declares no required field (its schema nests the
 * property map one level too deep); we require what every tag message carries and what a
 * consumer needs to act on it.
 */
export const KojiTag = z.looseObject({
  build_id: z.int(),
  name: z.string(),
  version: z.string(),
  release: z.string(),
  tag: z.string().nullable(),
  tag_id: z.int().optional(),
  instance: z.string().optional(),
  user: z.string().optional(),
  owner: z.string().optional(),
  base_url: z.string().optional(),
});
export type KojiTag = z.output<typeof KojiTag>;

const MASS_REBUILD_TAG = /^f\d+-rebuild$/;
const ELN_TAG = /^eln(-.*)?$/;

/** TagV1's priority: mass rebuilds lowest, ELN next, everything else 2. */
export function kojiTagPriority(tag: string | null): number {
  if (tag && MASS_REBUILD_TAG.test(tag)) return 0;
  if (tag && ELN_TAG.test(tag)) return 1;
  return 2;
}

export const KojiTagMessage = defineSchema({
  name: "koji_fedoramessaging.tag.TagV1",
  schemaPackage: "koji_fedoramessaging_messages",
  topic: KOJI_TAG_TOPIC,
  body: KojiTag,
  description: "A Koji build was tagged into a tag.",
  severity: Severity.DEBUG,
  priority: (body) => kojiTagPriority(body.tag),
  agentName: (body) => body.user,
  usernames: (body) => [...new Set([body.user, body.owner].filter((n): n is string => n != null))],
  packages: (body) => (body.name ? [body.name] : []),
  summary: (body) => `${kojiBuildNvr(body)} was tagged into ${body.tag} by ${body.user}`,
});

export const KOJI_FAMILY: MessageFamily = {
  id: "koji",
  title: "Koji build system",
  description: "Messages from koji-fedoramessaging (schemas of koji-fedoramessaging-messages).",
  schemas: [KojiBuildStateChangeMessage, KojiTagMessage],
};
