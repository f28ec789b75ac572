// What the runner planned for a compose, kept (PlanStore: Redis or memory) so one test can be
// run again on request later, after a restart too: the compose, where its tree is, each
// planned test (repository, test case, commit) and the summaries the test counts in.
import { z } from "zod";
import type { GateGroup, PlannedTest } from "./messages.js";

export const PLAN_VERSION = 1;

const TestCaseSchema = z.looseObject({
  id: z.string().min(1),
  package: z.string().min(1),
  source: z.string().min(1),
  name: z.string().min(1),
  dir: z.string().min(1),
  command: z.array(z.string()),
  requires: z.array(z.string()),
  timeoutMs: z.number().int().min(0),
  allowedReruns: z.number().int().min(0),
  environment: z.record(z.string(), z.string()),
  commit: z.string().min(1),
  file: z.string(),
  tags: z.array(z.string()).optional(),
});

const PlannedTestSchema = z.looseObject({
  test: TestCaseSchema,
  gitDir: z.string().min(1),
  component: z.string().min(1),
  nvr: z.string().min(1).optional(),
  namespace: z.string().min(1),
  type: z.string().min(1),
  scope: z.literal("whole-host").optional(),
});

const GateGroupSchema = z.looseObject({
  kind: z.enum(["build", "package-tests", "host-tests"]),
  testcase: z.string().min(1),
  item: z.string().min(1),
  testcases: z.array(z.string()),
  component: z.string().optional(),
  nvr: z.string().optional(),
  distGitCommit: z.string().optional(),
});

export interface ComposePlan {
  version: typeof PLAN_VERSION;
  compose: { compose_id: string; commit: string; os_version: string; change_set_id: string };
  /** The OSTree repository the compose's commit is in (`repo.location`). */
  repo: string;
  planned: PlannedTest[];
  groups: GateGroup[];
}

/** A stored plan, checked when read back (a corrupt one is an error naming the problem). */
export const ComposePlan: z.ZodType<ComposePlan> = z.object({
  version: z.literal(PLAN_VERSION),
  compose: z.object({ compose_id: z.string().min(1), commit: z.string().regex(/^[0-9a-f]{64}$/), os_version: z.string().min(1), change_set_id: z.string().min(1) }),
  repo: z.string().min(1),
  planned: z.array(PlannedTestSchema).transform((list) => list as unknown as PlannedTest[]),
  groups: z.array(GateGroupSchema).transform((list) => list as unknown as GateGroup[]),
});

/** Plan keys: `compose:<compose id>` and `commit:<commit>` (the newest compose of that commit). */
export function planKeys(id: string): { compose: string; commit: string } {
  return { compose: `compose:${id}`, commit: `commit:${id}` };
}
