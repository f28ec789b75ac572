// The public surface of @atomic-ci/tools: typed wrappers around external tools, run with an
// argument vector and never through a shell.

export { isToolError, STDERR_TAIL_BYTES, tail, ToolError, type ToolErrorCode, type ToolErrorDetails } from "./errors.js";
export { DEFAULT_MAX_OUTPUT_BYTES, runTool, type RunToolOptions, type RunToolResult, type ToolContext, type ToolEnv } from "./run.js";
export {
  literalMacroValue,
  safeArg,
  safeGitRev,
  safeMacroName,
  safeMacroValue,
  safePath,
  safeRepoPath,
  safeRpmName,
  safeRpmVersion,
  UnsafeArgumentError,
} from "./argv.js";
export { rpmbuild, rpmFilesIn, writtenRpms, type RpmbuildOptions, type RpmbuildResult } from "./rpmbuild.js";
export { runSandboxed, SANDBOX_ETC, SANDBOX_PATH, SANDBOX_STARTED, SandboxError, sandboxArgs, type RunSandboxedOptions, type SandboxSpec } from "./sandbox.js";
export {
  fetchLookaside,
  LookasideError,
  lookasideLocation,
  parseSourcesFile,
  readSourcesFile,
  safeSourceName,
  type FetchLookasideOptions,
  type LookasideErrorCode,
  type LookasideSource,
} from "./lookaside.js";
export { distGitLocation } from "./dist-git.js";
export { createrepo, type CreaterepoOptions, type CreaterepoResult } from "./createrepo.js";
export {
  gitAdd,
  gitCommit,
  gitCommitFiles,
  gitDate,
  gitEnv,
  gitInit,
  gitLog,
  gitPatch,
  gitRevParse,
  gitShowFile,
  type GitCommitOptions,
  type GitFileStat,
  type GitLogEntry,
  type GitSignature,
} from "./git.js";
export {
  formatEvr,
  formatNevra,
  queryRpmDeps,
  queryRpmFiles,
  queryRpmHeader,
  queryRpmHeaders,
  rpmFileDigest,
  type RpmHeader,
} from "./rpm.js";
export { onToolFinished, reportToolRun, toolTimingEnabled, ToolTimings, unionMs, type ToolRun, type ToolRunListener, type ToolTotals } from "./timing.js";
export { lockDirectory, LockTimeoutError, type DirLockOptions, type Unlock } from "./dir-lock.js";
export { GitMirror, GitMirrorError, isRemoteGitUrl, repositoryResolver, type GitMirrorOptions, type RepositoryResolver } from "./git-mirror.js";
export { DirectoryDistGit, distGitRepos, MirroredDistGit, type DistGitRepos, type MirroredDistGitOptions } from "./dist-git-repos.js";
