import { releaseRequestCommand, type ReleaseRequestOptions } from "./hold.js";

/**
 * `rollback STREAM [--to VERSION]`: ask the publisher to move the stream's ref back (signed) to
 * VERSION, or to the newest earlier release that is not a dead-end, and to mark the withdrawn
 * releases as dead-ends in updates/<stream>.json. The publisher answers
 * `pipeline.release.rolled-back`.
 */
export function rollbackCommand(args: ReleaseRequestOptions): Promise<number> {
  return releaseRequestCommand({ action: "rollback", ...args });
}
