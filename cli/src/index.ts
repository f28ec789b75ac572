// The CLI package's importable surface: the shapes of what its commands print, for the tests and
// tools that read them (e.g. test/e2e reads `demo --json`).
export type { DemoSummary } from "./commands/demo.js";
export type { ComposeSummary } from "./demo/pipeline.js";
export type { GatingSummary } from "./demo/gating.js";
export type { DeliveredSummary, HeldSummary, HoldReason } from "./demo/delivery.js";
export type { FollowOutcome, FollowState, FollowTarget, GateView } from "./follow.js";
