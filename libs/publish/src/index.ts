// The public surface of @atomic-ci/publish: the promotion engine — a compose commit and its
// images into a GPG-signed public OSTree repository and Fedora CoreOS shaped release
// metadata; rollback. See docs/publishing.md.
export { promote, GENERATOR, IMAGE_PLATFORMS, PromotionConflictError, PublishableMeta, setUpdate, writeStreamMetadata, url, type PromoteOptions, type PromoteResult, type Rollout } from "./promote.js";
export { rollback, type RollbackOptions, type RollbackResult } from "./rollback.js";
export { generateThrowawayKey, type ThrowawayKey } from "./keys.js";
export { detachSign, pickCompression, type Compression, type GpgKey } from "./tools.js";
export { lockDir, PublishLockTimeoutError, readJson, sha256File, writeAtomic, writeJsonAtomic, type LockOptions, type Unlock } from "./files.js";
export {
  Artifact,
  Formats,
  lastModified,
  layout,
  ReleaseEntry,
  ReleaseJson,
  ReleasesIndex,
  StreamMetadata,
  UpdateMetadata,
  UpdatesJson,
} from "./metadata.js";
