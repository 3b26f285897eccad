/**
 * AWS storage adapters: DynamoDB (and S3) behind the session store, the
 * conversation index, update dedupe and conversation leases. Each lives in its
 * own file; import from a file directly where bundle size matters (the
 * ingress needs only the dedupe, which does not pull in the Agent SDK).
 */

export {
  DynamoConversationIndex,
  type DynamoConversationIndexOptions,
} from './dynamo-conversation-index.js';
export {
  type ConversationLease,
  DynamoConversationLease,
  type DynamoConversationLeaseOptions,
  type Lease,
} from './dynamo-conversation-lease.js';
export {
  DynamoSessionStore,
  type DynamoSessionStoreOptions,
  sessionStoreRetentionDays,
} from './dynamo-session-store.js';
export {
  DynamoUpdateDedupe,
  type DynamoUpdateDedupeOptions,
  type UpdateDedupe,
} from './dynamo-update-dedupe.js';
export { AwsStorageError, SessionContentionError, TranscriptCorruptError } from './errors.js';
export {
  EXPIRY_INDEX_NAME,
  storageTableDefinition,
  TTL_ATTRIBUTE,
} from './table.js';
