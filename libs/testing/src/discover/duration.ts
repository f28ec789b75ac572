// tmt's `duration`: one or more `<number><unit>` parts, summed (`1h 30m`); units s, m, h, d;
// a bare number is seconds. tmt's `*N` multiplier is not supported.
import { DiscoveryError } from "../model.js";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(value: unknown, file: string, key = "duration"): number {
  const text = typeof value === "number" ? String(value) : value;
  if (typeof text !== "string" || text.trim() === "") throw new DiscoveryError(file, key, "must be a duration like 5m, 1h or 30s");
  let total = 0;
  for (const part of text.trim().split(/\s+/)) {
    const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(part);
    if (!match) throw new DiscoveryError(file, key, `unsupported duration ${JSON.stringify(text)} (use e.g. 5m, 1h, 30s)`);
    total += Number(match[1]) * (UNIT_MS[match[2] || "s"] ?? 1000);
  }
  if (total <= 0) throw new DiscoveryError(file, key, "must be longer than zero");
  return Math.round(total);
}
