import type { MessageFamily } from "../family.js";
import { ChangeSetIgnoredMessage, ChangeSetQueuedMessage, OperatorRequestMessage } from "./pipeline-change-set.js";
import { CulpritsFoundMessage } from "./pipeline-culprits.js";
import { ComposeCompleteMessage, ComposeErrorMessage, ComposeQueuedMessage, ComposeRunningMessage } from "./pipeline-compose.js";

/**
 * The pipeline's own messages, between our services: topics `pipeline.<subject>.<event>`
 * under the configured prefix (`org.atomic-ci.dev.pipeline.change-set.queued`).
 */
export const PIPELINE_FAMILY: MessageFamily = {
  id: "pipeline",
  title: "atomic-ci pipeline",
  description:
    "Messages the pipeline's services exchange: change sets (trigger-listener), composes (composer), operator requests (CLI) and culprits of failing change sets (gatekeeper).",
  schemas: [
    ChangeSetQueuedMessage,
    ChangeSetIgnoredMessage,
    OperatorRequestMessage,
    ComposeQueuedMessage,
    ComposeRunningMessage,
    ComposeCompleteMessage,
    ComposeErrorMessage,
    CulpritsFoundMessage,
  ],
};
