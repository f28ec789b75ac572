// The public surface of @atomic-ci/aws: a streamOptimized VMDK to AMIs in one or more regions,
// on the AWS SDK v3 clients (docs/images.md, "Cloud upload (AWS)"). The local stand-in for tests
// is `@atomic-ci/aws/testing`.
export { AWS_DEFAULTS, AWS_REGION, awsConfigSchema, S3_BUCKET, type AwsSettings, type AwsSettingsInput } from "./config.js";
export { AwsError, describeSdkError, isAwsError, wrapSdkError, type AwsErrorCode } from "./errors.js";
export { amiName, buildTags, clientToken, coversRegions, ec2Architecture, nextDelay, objectKey, orderAmis, TAG_BUILD, TAG_COMMIT, TAG_SHA256, type Ami, type BuildIdentity } from "./plan.js";
export { AwsUploader, type AwsLog, type AwsStep, type AwsUploaderDeps, type UploadVmdkOptions, type UploadVmdkResult } from "./upload.js";
export { inspectStreamOptimized, parseVmdkHead, streamOptimizedProblem, VMDK_HEAD_BYTES, VMDK_MAGIC, VmdkFormatError, type VmdkInfo } from "./vmdk.js";
