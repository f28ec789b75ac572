// The external tools the image builder runs, each through runTool (an argument vector, never
// a shell). Every function takes the caller's ToolContext: libraries never read process.env.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { runTool, type RunToolResult, type ToolContext } from "@atomic-ci/tools";

export const DEFAULT_TOOL_TIMEOUT_MS = 10 * 60_000;

export function run(cmd: string, args: readonly string[], ctx: ToolContext, input?: string): Promise<RunToolResult> {
  return runTool(cmd, args, { env: ctx.env, timeoutMs: ctx.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS, ...(input === undefined ? {} : { input }) });
}

export function ostree(ctx: ToolContext, ...args: string[]): Promise<RunToolResult> {
  return run("ostree", args, ctx);
}

/** sha256 and size of a file, streamed. */
export async function sha256File(path: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const buf = chunk as Buffer;
    size += buf.length;
    hash.update(buf);
  }
  return { sha256: hash.digest("hex"), size };
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A UUID (RFC 4122 variant, version 4 bits) derived from `seed`: reproducible filesystem and disk ids. */
export function uuidFrom(seed: string): string {
  const h = sha256Hex(seed);
  const v = `4${h.slice(13, 16)}`;
  const variant = ((parseInt(h.slice(16, 17), 16) & 0x3) | 0x8).toString(16) + h.slice(17, 20);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${v}-${variant}-${h.slice(20, 32)}`;
}
