// The delivery policy: `delivery.yaml` in the host definition repository (docs/publishing.md,
// "The delivery policy"). Parsed and checked here; what it means for a release is decide.ts'.
import { parse as parseYaml } from "yaml";
import { z } from "zod";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export const WINDOWS = ["hour", "day", "week"] as const;
export type ReleaseWindow = (typeof WINDOWS)[number];
/** `from` of a stream fed by the gates rather than by another stream. */
export const GATE_SOURCE = "gate";

const streamName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must be a lowercase stream name (letters, digits, ._-)");
const version = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._+-]*$/, "must be a release version");
const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

/** `30m`, `72h`, `7d` → milliseconds. */
export const Duration = z
  .string()
  .regex(/^\d+[mhd]$/, "must be a duration like 30m, 72h or 7d")
  .transform((s) => Number(s.slice(0, -1)) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[s.slice(-1) as "m" | "h" | "d"]);

export const Schedule = z
  .strictObject({
    timezone: z.literal("UTC").default("UTC").describe("Only UTC: days and hours are UTC days and hours"),
    days: z.array(z.enum(WEEKDAYS)).min(1).default([...WEEKDAYS]).describe("Weekdays a release may go out on"),
    hours: z
      .strictObject({
        from: z.int().min(0).max(23).describe("First allowed hour (inclusive)"),
        to: z.int().min(1).max(24).describe("End of the allowed hours (exclusive); smaller than `from` wraps past midnight"),
      })
      .refine((h) => h.from !== h.to, "from and to must differ (0 to 24 is the whole day)")
      .default({ from: 0, to: 24 })
      .describe("Hours a release may go out in"),
    window: z.enum(WINDOWS).optional().describe("At most one release per UTC hour, day or week (weeks start on Monday); absent: no limit"),
  })
  .describe("When releases may go out");
export type Schedule = z.output<typeof Schedule>;

export const StreamPolicy = z.strictObject({
  from: z.string().min(1).default(GATE_SOURCE).describe("`gate`: fed by composes that pass the gates; a stream name: promoted from that stream"),
  soak: Duration.optional().describe("For a promoted stream: how long a release must have been in `from` first"),
  schedule: Schedule.optional().describe("Absent: any time"),
  rollout: z
    .strictObject({
      start_percentage: z.number().min(0).max(1).describe("Share of clients offered the release at once (0 to 1)"),
      duration_minutes: z.int().nonnegative().optional().describe("Minutes until every client is offered it"),
    })
    .optional()
    .describe("A staged rollout recorded in updates/<stream>.json"),
});
export type StreamPolicy = z.output<typeof StreamPolicy>;

export const Freeze = z
  .strictObject({
    start: instant.describe("ISO 8601 start (inclusive)"),
    end: instant.describe("ISO 8601 end (exclusive)"),
    reason: z.string().min(1),
    streams: z.array(streamName).min(1).optional().describe("Streams frozen; absent: all of them"),
  })
  .refine((f) => f.end.getTime() > f.start.getTime(), { message: "end must be after start", path: ["end"] });
export type Freeze = z.output<typeof Freeze>;

/** A barrier or dead-end of Fedora CoreOS's updates metadata for one release of a stream. */
export const UpdateMark = z.strictObject({ stream: streamName, version, reason: z.string().min(1) });
export type UpdateMark = z.output<typeof UpdateMark>;

export const DeliveryPolicy = z
  .strictObject({
    streams: z.record(streamName, StreamPolicy).describe("The streams, by name"),
    freezes: z.array(Freeze).default([]),
    barriers: z.array(UpdateMark).default([]).describe("Releases every client must update to before going further"),
    deadends: z.array(UpdateMark).default([]).describe("Releases clients must not stay on"),
  })
  .superRefine((policy, ctx) => {
    const names = Object.keys(policy.streams);
    if (names.length === 0) ctx.addIssue({ code: "custom", path: ["streams"], message: "at least one stream is needed" });
    for (const [name, stream] of Object.entries(policy.streams)) {
      if (name === GATE_SOURCE) ctx.addIssue({ code: "custom", path: ["streams", name], message: `"${GATE_SOURCE}" is reserved (from: gate)` });
      if (stream.from !== GATE_SOURCE && !names.includes(stream.from)) {
        ctx.addIssue({ code: "custom", path: ["streams", name, "from"], message: `no stream ${stream.from}` });
      }
      if (stream.from === GATE_SOURCE && stream.soak !== undefined) {
        ctx.addIssue({ code: "custom", path: ["streams", name, "soak"], message: "soak needs `from: <stream>`" });
      }
    }
    // A cycle of promotions would never start.
    for (const name of names) {
      const seen = new Set<string>();
      let at: string | undefined = name;
      while (at !== undefined && at !== GATE_SOURCE) {
        if (seen.has(at)) {
          ctx.addIssue({ code: "custom", path: ["streams", name, "from"], message: `promotion cycle through ${[...seen].join(" → ")}` });
          break;
        }
        seen.add(at);
        at = policy.streams[at]?.from;
      }
    }
    policy.freezes.forEach((freeze, i) => {
      for (const s of freeze.streams ?? []) if (!names.includes(s)) ctx.addIssue({ code: "custom", path: ["freezes", i, "streams"], message: `no stream ${s}` });
    });
    for (const key of ["barriers", "deadends"] as const) {
      policy[key].forEach((mark, i) => {
        if (!names.includes(mark.stream)) ctx.addIssue({ code: "custom", path: [key, i, "stream"], message: `no stream ${mark.stream}` });
      });
    }
  });
export type DeliveryPolicy = z.output<typeof DeliveryPolicy>;

export class DeliveryPolicyError extends Error {
  readonly code = "DELIVERY_POLICY_INVALID";
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`${source}: invalid delivery policy: ${issues.join("; ")}`);
    this.name = "DeliveryPolicyError";
  }
}

/** Parse a delivery.yaml text; a DeliveryPolicyError names every problem with its field path. */
export function parseDeliveryPolicy(text: string, source = "delivery.yaml"): DeliveryPolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new DeliveryPolicyError(source, [`not YAML: ${err instanceof Error ? err.message : String(err)}`]);
  }
  const parsed = DeliveryPolicy.safeParse(raw);
  if (!parsed.success) {
    throw new DeliveryPolicyError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`),
    );
  }
  return parsed.data;
}

/** Streams in promotion order: every stream after the one it is promoted from. */
export function streamOrder(policy: DeliveryPolicy): string[] {
  const order: string[] = [];
  const visit = (name: string) => {
    if (order.includes(name)) return;
    const from = policy.streams[name]?.from;
    if (from !== undefined && from !== GATE_SOURCE) visit(from);
    order.push(name);
  };
  for (const name of Object.keys(policy.streams).sort()) visit(name);
  return order;
}
