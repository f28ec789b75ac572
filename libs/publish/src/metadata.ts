// Release metadata in Fedora CoreOS's layout and field names (see docs/publishing.md):
//   streams/<stream>.json                          stream metadata (what to download now)
//   prod/streams/<stream>/releases.json            every release, oldest first
//   prod/streams/<stream>/builds/<version>/release.json
//   updates/<stream>.json                          barriers, dead-ends, rollouts for clients
import { z } from "zod";

export const Artifact = z.object({
  location: z.string(),
  signature: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  "uncompressed-sha256": z.string().regex(/^[0-9a-f]{64}$/).optional(),
});
export type Artifact = z.output<typeof Artifact>;

/** format (`qcow2.xz`) → `{disk: artifact}` */
export const Formats = z.record(z.string(), z.object({ disk: Artifact }));
export type Formats = z.output<typeof Formats>;

export const StreamMetadata = z.object({
  stream: z.string(),
  metadata: z.object({ "last-modified": z.string(), generator: z.string() }),
  architectures: z.record(
    z.string(),
    z.object({
      artifacts: z.record(z.string(), z.object({ release: z.string(), formats: Formats })),
      images: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});
export type StreamMetadata = z.output<typeof StreamMetadata>;

export const ReleaseEntry = z.object({
  commits: z.array(z.object({ architecture: z.string(), checksum: z.string().regex(/^[0-9a-f]{64}$/) })),
  version: z.string(),
  /** URL (or path relative to the public tree) of the release's release.json. */
  metadata: z.string(),
});
export type ReleaseEntry = z.output<typeof ReleaseEntry>;

export const ReleasesIndex = z.object({
  stream: z.string(),
  metadata: z.object({ "last-modified": z.string() }),
  releases: z.array(ReleaseEntry),
});
export type ReleasesIndex = z.output<typeof ReleasesIndex>;

export const ReleaseJson = z.object({
  release: z.string(),
  stream: z.string(),
  metadata: z.object({ "last-modified": z.string() }),
  architectures: z.record(
    z.string(),
    z.object({
      commit: z.string().regex(/^[0-9a-f]{64}$/),
      media: z.record(z.string(), z.object({ artifacts: Formats, images: z.record(z.string(), z.unknown()).optional() })),
    }),
  ),
});
export type ReleaseJson = z.output<typeof ReleaseJson>;

export const UpdateMetadata = z.object({
  barrier: z.object({ reason: z.string() }).optional(),
  deadend: z.object({ reason: z.string() }).optional(),
  rollout: z
    .object({ start_epoch: z.number().int(), start_percentage: z.number().min(0).max(1), duration_minutes: z.number().int().nonnegative().optional() })
    .optional(),
});
export type UpdateMetadata = z.output<typeof UpdateMetadata>;

export const UpdatesJson = z.object({
  stream: z.string(),
  metadata: z.object({ "last-modified": z.string() }),
  releases: z.array(z.object({ version: z.string(), metadata: UpdateMetadata })),
});
export type UpdatesJson = z.output<typeof UpdatesJson>;

/** `2026-11-26T07:11:08Z`: Fedora CoreOS writes last-modified without milliseconds. */
export function lastModified(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Where each file lives, relative to the public directory. */
export const layout = {
  stream: (stream: string) => `streams/${stream}.json`,
  updates: (stream: string) => `updates/${stream}.json`,
  releases: (stream: string) => `prod/streams/${stream}/releases.json`,
  buildDir: (stream: string, version: string) => `prod/streams/${stream}/builds/${version}`,
  release: (stream: string, version: string) => `prod/streams/${stream}/builds/${version}/release.json`,
};
