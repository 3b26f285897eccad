/**
 * AWS adapters: DynamoDB (and S3) behind the session store, the conversation
 * index, update dedupe, conversation leases, turn control and the reply
 * outbox, real attempt counts; the SQS FIFO job sink the ingress sends to,
 * the record processor that gives SQS records their queue semantics in the
 * worker, and the dead-letter processor behind the dead-letter queue. Each lives in its
 * own file; import from a file directly where bundle size matters (the
 * ingress needs only the dedupe, the turn control's `requestStop` and the
 * job sink, none of which pulls in the Agent SDK).
 */

export {
  DynamoConversationIndex,
  type DynamoConversationIndexOptions,
} from './dynamo-conversation-index.js';
export {
  DynamoConversationLease,
  type DynamoConversationLeaseOptions,
} from './dynamo-conversation-lease.js';
export {
  DynamoJobAttempts,
  type DynamoJobAttemptsOptions,
  JOB_ATTEMPTS_KEY_PREFIX,
  type JobAttempts,
} from './dynamo-job-attempts.js';
export {
  DynamoReplyOutbox,
  type DynamoReplyOutboxOptions,
} from './dynamo-reply-outbox.js';
export {
  DynamoSessionStore,
  type DynamoSessionStoreOptions,
  sessionStoreRetentionDays,
} from './dynamo-session-store.js';
export {
  DynamoTurnControl,
  type DynamoTurnControlOptions,
  TURN_CONTROL_KEY_PREFIX,
} from './dynamo-turn-control.js';
export {
  DynamoUpdateDedupe,
  type DynamoUpdateDedupeOptions,
} from './dynamo-update-dedupe.js';
export { AwsStorageError, SessionContentionError, TranscriptCorruptError } from './errors.js';
export { S3WorkspaceStore, type S3WorkspaceStoreOptions } from './s3-workspace-store.js';
export { PowertoolsSecretSource, type PowertoolsSecretSourceOptions } from './secret-source.js';
export {
  type DeadLetterPark,
  SqsDeadLetterPark,
  SqsDeadLetterProcessor,
  type SqsDeadLetterProcessorOptions,
} from './sqs-dead-letter-processor.js';
export {
  CONTROL_GROUP_SUFFIX,
  deduplicationId,
  type JobPayload,
  jobPayloadSchema,
  messageGroupId,
  parseJobPayload,
  SqsJobSink,
  type SqsJobSinkOptions,
} from './sqs-job-sink.js';
export {
  queueUrlFromArn,
  SqsMessageVisibility,
  type SqsMessageVisibilityOptions,
} from './sqs-message-visibility.js';
export {
  defaultRetryDelaySeconds,
  type JobHandler,
  type MessageVisibility,
  RecordFailedError,
  SqsRecordProcessor,
  type SqsRecordProcessorOptions,
} from './sqs-record-processor.js';
export { storageTableDefinition, TTL_ATTRIBUTE } from './table.js';
