// The public surface of @atomic-ci/compose: the compose engine (depsolve with dnf, package
// cache, ostree commit). See docs/composer.md.
export { candidateSets, compose, classifyError, COMPOSE_EXTENSIONS_DIR, type CandidateSet, type ComposeOptions } from "./compose.js";
export type { Composed, ComposeFailure, ComposeResult, InfrastructureError, PackageDiff, ResolvedPackage } from "./result.js";
export { COMPOSER_FORMAT_VERSION, canonicalJson, computeInputHash } from "./input-hash.js";
export { DEPSOLVE_CACHE_DIR, depsolveKey, type DepsolveKeyInput } from "./depsolve-cache.js";
export { DirLock, LockTimeoutError, type DirLockOptions, type Lock, type Release } from "./lock.js";
export { PKGCACHE_PREFIX, cachedRefs, escapeRefComponent, pkgcacheRef } from "./pkgcache.js";
export { buildRequests, candidateRequest, parseCandidates, type Requests } from "./requests.js";
export { classifyDnfFailure } from "./depsolve.js";
export { packageDiff, parsePkglist, pkglistGVariant, type PkglistEntry } from "./metadata.js";
export { lockfileName, OVERRIDES_NAME } from "./definition-lock.js";
export { ostreeFsck, ostreeMetadata, ostreeRevParse, ostreeRefs, gvariantString } from "./tools/ostree.js";
