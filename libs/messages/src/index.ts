// The public surface of @atomic-ci/messages: other packages import only from here.

export { defineSchema, Severity, type MessageSchema } from "./schema.js";
export { prefixTopic, topicHasSuffix, topicMatches } from "./topic.js";
export type { MessageFamily } from "./family.js";
export { BASE_MESSAGE, defaultRegistry, SchemaRegistry, type ResolveInput } from "./registry.js";
export { formatPath, ROOT_PATH, validateBody, type ValidationIssue, type ValidationResult } from "./validate.js";
export { filterHeaders, schemaHeaders } from "./headers.js";
export { familyJsonSchema, familyJsonSchemaText, GENERATED_BY, JSON_SCHEMA_DIALECT } from "./json-schema.js";
export {
  fixtureFromJson,
  loadFedoraFixtures,
  type FedoraFixture,
  type FixtureShape,
  type LoadFixturesOptions,
} from "./fixture-shapes.js";
export { parseMessageDocument, isJsonObject, type MessageDocument, type DocumentShape } from "./document.js";
export { MESSAGE_FAMILIES } from "./families/index.js";
export { nvrPackageName } from "./families/common.js";

export {
  KOJI_BUILD_STATE,
  KOJI_BUILD_STATE_CHANGE_TOPIC,
  KOJI_FAMILY,
  KOJI_TAG_TOPIC,
  KojiBuildStateChange,
  KojiBuildStateChangeMessage,
  kojiBuildNvr,
  kojiBuildStateName,
  KojiTag,
  KojiTagMessage,
  kojiTagPriority,
  KojiTaskInfo,
  KojiTaskResult,
  type KojiBuildState,
  type KojiBuildStateName,
} from "./families/koji.js";

export {
  DIST_GIT_FAMILY,
  GIT_RECEIVE_TOPIC,
  GitReceive,
  GitReceiveFedmsg,
  GitReceiveHook,
  GitReceiveMessage,
  normalizeGitReceive,
  type DistGitPush,
} from "./families/dist-git.js";

export {
  BODHI_FAMILY,
  BODHI_UPDATE_COMMENT_TOPIC,
  BODHI_UPDATE_READY_FOR_TESTING_TOPIC,
  BODHI_UPDATE_REQUEST_TESTING_TOPIC,
  bodhiBuildNvrs,
  BodhiUpdate,
  BodhiUpdateComment,
  BodhiUpdateCommentMessage,
  bodhiUpdateNvrs,
  BodhiUpdateReadyForTesting,
  BodhiUpdateReadyForTestingMessage,
  BodhiUpdateReadyForTestingV1,
  BodhiUpdateReadyForTestingV3,
  BodhiUpdateRequestTesting,
  BodhiUpdateRequestTestingMessage,
  isReadyForTestingV3,
  readyForTestingNvrs,
} from "./families/bodhi.js";

export {
  PAGURE_FAMILY,
  PAGURE_PULL_REQUEST_NEW_TOPIC,
  PAGURE_PULL_REQUEST_UPDATED_TOPIC,
  PagureProject,
  PagurePullRequest,
  PagurePullRequestEvent,
  PagurePullRequestNewMessage,
  PagurePullRequestUpdatedMessage,
  PagureUser,
  pullRequestRef,
  type PullRequestRef,
} from "./families/pagure.js";

export {
  isPungiComposeStatus,
  PUNGI_COMPOSE_STATUS_CHANGE_TOPIC,
  PUNGI_COMPOSE_STATUSES,
  PUNGI_FAMILY,
  PungiComposeStatusChange,
  PungiComposeStatusChangeMessage,
  pungiComposeSucceeded,
  type PungiComposeStatus,
} from "./families/pungi.js";

export {
  CI_TEST_CATEGORIES,
  CI_TEST_RESULTS,
  CiContact,
  CiError,
  CiGeneratedAt,
  CiKojiBuildArtifact,
  CiKojiBuildGroupArtifact,
  CiNotification,
  CiPipeline,
  CiProductmdComposeArtifact,
  CiRun,
  CiSpecVersion,
  CiSystem,
  CiTest,
  CiTestComplete,
  type CiTestCategory,
  type CiTestResult,
} from "./families/fedora-ci-parts.js";

export {
  CI_TEST_STATES,
  ciTestTopic,
  FEDORA_CI_FAMILY,
  FEDORA_CI_TOPIC_PREFIX,
  KOJI_BUILD_GROUP_TEST_COMPLETE_TOPIC,
  KOJI_BUILD_GROUP_TEST_ERROR_TOPIC,
  KOJI_BUILD_GROUP_TEST_QUEUED_TOPIC,
  KOJI_BUILD_GROUP_TEST_RUNNING_TOPIC,
  KOJI_BUILD_TEST_COMPLETE_TOPIC,
  KOJI_BUILD_TEST_ERROR_TOPIC,
  KOJI_BUILD_TEST_QUEUED_TOPIC,
  KOJI_BUILD_TEST_RUNNING_TOPIC,
  KojiBuildGroupTestComplete,
  KojiBuildGroupTestCompleteMessage,
  KojiBuildGroupTestError,
  KojiBuildGroupTestErrorMessage,
  KojiBuildGroupTestQueued,
  KojiBuildGroupTestQueuedMessage,
  KojiBuildGroupTestRunning,
  KojiBuildGroupTestRunningMessage,
  KojiBuildTestComplete,
  KojiBuildTestCompleteMessage,
  KojiBuildTestError,
  KojiBuildTestErrorMessage,
  KojiBuildTestQueued,
  KojiBuildTestQueuedMessage,
  KojiBuildTestRunning,
  KojiBuildTestRunningMessage,
  PRODUCTMD_COMPOSE_TEST_COMPLETE_TOPIC,
  PRODUCTMD_COMPOSE_TEST_ERROR_TOPIC,
  PRODUCTMD_COMPOSE_TEST_QUEUED_TOPIC,
  PRODUCTMD_COMPOSE_TEST_RUNNING_TOPIC,
  ProductmdComposeTestComplete,
  ProductmdComposeTestCompleteMessage,
  ProductmdComposeTestError,
  ProductmdComposeTestErrorMessage,
  ProductmdComposeTestQueued,
  ProductmdComposeTestQueuedMessage,
  ProductmdComposeTestRunning,
  ProductmdComposeTestRunningMessage,
  testCaseName,
  type CiTestMessageBody,
  type CiTestState,
} from "./families/fedora-ci.js";

export {
  RESULTSDB_FAMILY,
  RESULTSDB_OUTCOMES,
  RESULTSDB_RESULT_NEW_TOPIC,
  resultDataValue,
  ResultsdbResult,
  ResultsdbResultNewMessage,
  type ResultsdbOutcome,
} from "./families/resultsdb.js";

export {
  WAIVERDB_FAMILY,
  WAIVERDB_WAIVER_NEW_TOPIC,
  WaiverdbWaiver,
  WaiverdbWaiverNewMessage,
} from "./families/waiverdb.js";

export {
  GREENWAVE_DECISION_UPDATE_TOPIC,
  GREENWAVE_FAMILY,
  GREENWAVE_REQUIREMENT_TYPES,
  GreenwaveDecisionUpdate,
  GreenwaveDecisionUpdateMessage,
  GreenwaveRequirement,
  type GreenwaveRequirementType,
} from "./families/greenwave.js";

export {
  ArtifactLocation,
  ChangeSetBuildMember,
  ChangeSetCommitMember,
  ChangeSetDefinitionMember,
  ChangeSetId,
  changeSetIdOf,
  ChangeSetMember,
  ChangeSetOperatorMember,
  ChangeSetPullRequestMember,
  memberIdentity,
  Nevra,
  PIPELINE_SPEC_VERSION,
} from "./families/pipeline-parts.js";

export {
  CHANGE_SET_IGNORED_TOPIC,
  CHANGE_SET_QUEUED_TOPIC,
  CHANGE_SET_REASONS,
  ChangeSetIgnored,
  ChangeSetIgnoredMessage,
  ChangeSetQueued,
  ChangeSetQueuedMessage,
  IGNORED_REASON_CODES,
  OPERATOR_REQUEST_TOPIC,
  OperatorRequest,
  OperatorRequestMessage,
  RELEASE_OPERATOR_ACTIONS,
  isReleaseOperatorRequest,
  type ChangeSetReason,
  type IgnoredReasonCode,
} from "./families/pipeline-change-set.js";

export {
  COMPOSE_ERROR_KINDS,
  COMPOSE_STATES,
  ComposeComplete,
  ComposeCompleteMessage,
  ComposeError,
  ComposeErrorMessage,
  ComposeQueued,
  ComposeQueuedMessage,
  ComposeRunning,
  ComposeRunningMessage,
  composeTopic,
  PackageDiff,
  ScratchBuild,
  type ComposeState,
} from "./families/pipeline-compose.js";

export {
  Culprit,
  CULPRIT_KINDS,
  CulpritsFound,
  CulpritsFoundMessage,
  CULPRITS_FOUND_TOPIC,
  type CulpritKind,
} from "./families/pipeline-culprits.js";

export { PIPELINE_FAMILY } from "./families/pipeline.js";
export {
  IMAGE_ERROR_KINDS,
  IMAGE_STATES,
  ImageArtifact,
  ImageComplete,
  ImageCompleteMessage,
  ImageError,
  ImageErrorMessage,
  ImageProgress,
  ImageProgressMessage,
  ImageQueued,
  ImageQueuedMessage,
  imageTopic,
  PIPELINE_IMAGE_FAMILY,
  type ImageState,
} from "./families/pipeline-image.js";
export {
  HoldReason,
  PIPELINE_RELEASE_FAMILY,
  RELEASE_EVENTS,
  RELEASE_HOLD_KINDS,
  ReleaseDelivered,
  ReleaseDeliveredMessage,
  ReleaseHeld,
  ReleaseHeldMessage,
  ReleaseHoldChange,
  ReleaseHoldLiftedMessage,
  ReleaseHoldSetMessage,
  ReleaseRolledBack,
  ReleaseRolledBackMessage,
  releaseTopic,
  StreamName,
  type ReleaseEvent,
} from "./families/pipeline-release.js";
