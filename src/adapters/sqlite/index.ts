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
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './sqlite-session-store.js';
