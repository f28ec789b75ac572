// @atomic-ci/aws/testing: the local AWS stand-in (S3 via s3rver, a small EC2 Query-API responder)
// and test disks. For tests and the demo; nothing here talks to AWS.
export { startAwsStandIn, STAND_IN_CREDENTIALS, type AwsStandIn, type AwsStandInOptions } from "./standin.js";
export { Ec2StandIn, STAND_IN_ACCOUNT, type Ec2StandInOptions, type Fault, type ImportTask, type ObjectHead, type ReadObjectHead, type Snapshot, type StandInImage } from "./ec2.js";
export { makeTestDisk, type TestDiskOptions } from "./disks.js";
