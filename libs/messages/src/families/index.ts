import type { MessageFamily } from "../family.js";
import { BODHI_FAMILY } from "./bodhi.js";
import { DIST_GIT_FAMILY } from "./dist-git.js";
import { FEDORA_CI_FAMILY } from "./fedora-ci.js";
import { GREENWAVE_FAMILY } from "./greenwave.js";
import { KOJI_FAMILY } from "./koji.js";
import { PAGURE_FAMILY } from "./pagure.js";
import { PIPELINE_FAMILY } from "./pipeline.js";
import { PIPELINE_IMAGE_FAMILY } from "./pipeline-image.js";
import { PIPELINE_RELEASE_FAMILY } from "./pipeline-release.js";
import { PUNGI_FAMILY } from "./pungi.js";
import { RESULTSDB_FAMILY } from "./resultsdb.js";
import { WAIVERDB_FAMILY } from "./waiverdb.js";

/** Every message family, inbound triggers first, then what the pipeline emits and consumes for gating, then its own. */
export const MESSAGE_FAMILIES: readonly MessageFamily[] = [
  KOJI_FAMILY,
  DIST_GIT_FAMILY,
  BODHI_FAMILY,
  PAGURE_FAMILY,
  PUNGI_FAMILY,
  FEDORA_CI_FAMILY,
  RESULTSDB_FAMILY,
  WAIVERDB_FAMILY,
  GREENWAVE_FAMILY,
  PIPELINE_FAMILY,
  PIPELINE_IMAGE_FAMILY,
  PIPELINE_RELEASE_FAMILY,
];
