export {
  DATABASE_FILE_NAME,
  DatabaseSchemaError,
  databaseFile,
  migrate,
  type OpenDatabaseOptions,
  openDatabase,
  type SqliteDatabase,
} from './database.js';
export { type Migration, migrations } from './migrations.js';
export {
  SqliteConversationIndex,
  type SqliteConversationIndexOptions,
} from './sqlite-conversation-index.js';
export {
  type PruneOptions,
  SqliteJobQueue,
  type SqliteJobQueueOptions,
} from './sqlite-job-queue.js';
export { SqliteReplyOutbox } from './sqlite-reply-outbox.js';
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './sqlite-session-store.js';
