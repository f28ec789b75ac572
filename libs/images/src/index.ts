// The public surface of @atomic-ci/images: a compose commit → a deployed sysroot → a GPT raw
// disk → qcow2, Vagrant libvirt box, AWS vmdk, with a coreos-assembler shaped meta.json.
// See docs/images.md.
export {
  buildImages,
  BuildMeta,
  DEFAULT_FORMATS,
  IMAGE_BUILDER_VERSION,
  IMAGE_FORMATS,
  IMAGE_STEPS,
  ImageEntry,
  VAGRANTFILE,
  type BuildImagesOptions,
  type BuiltImages,
  type ImageFormat,
  type ImageStep,
} from "./build.js";
export { buildSysroot, DEFAULT_KARGS, SYSROOT_REPO_MODE, type Sysroot, type SysrootOptions } from "./sysroot.js";
export { chownToRoot, filesystemSize, LINUX_FILESYSTEM_GUID, LINUX_ROOT_X86_64_GUID, makeExt4, makeRawDisk, type PartitionSpec, type PlacedPartition, type RawDisk } from "./disk.js";
export { sha256File } from "./tools.js";
export {
  BOOT_SANITY,
  BootEntryError,
  bootSanityScript,
  bootTest,
  DEFAULT_BOOT_TIMEOUT_MS,
  MARKERS,
  parseBlsEntry,
  parseResults,
  readBootEntry,
  type BootEntry,
  type BootOutcome,
  type BootTest,
  type BootTestOptions,
  type BootTestResult,
  type BootTimings,
} from "./boot.js";
