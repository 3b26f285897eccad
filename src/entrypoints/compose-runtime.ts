import { LocalWorkspaceStore } from '../adapters/local/local-workspace-store.js';
import { databaseFile, openDatabase, type SqliteDatabase } from '../adapters/sqlite/database.js';
import { SqliteConversationIndex } from '../adapters/sqlite/sqlite-conversation-index.js';
import { SqliteSessionStore } from '../adapters/sqlite/sqlite-session-store.js';
import type { Env, RuntimeSettings } from '../config/runtime-settings.js';
import type { AgentRuntime } from '../core/agent/agent-runtime.js';
import { sweepExpiredConversations } from '../core/pipeline/expiry-sweeper.js';
import type { Logger } from '../ports/logger.js';
import { composeAgentRuntime, workspacesRoot } from './compose-agent-runtime.js';

export interface LocalRuntime {
  runtime: AgentRuntime;
  database: SqliteDatabase;
  conversations: SqliteConversationIndex;
  sessionStore: SqliteSessionStore;
  /** Delete transcripts of conversations idle past their expiry. */
  sweepExpired(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Wires the agent runtime to embedded storage: one SQLite file under the data
 * directory holds transcripts and the conversation index; working directories
 * live beside it. The runtime itself is composed as on Lambda
 * (compose-agent-runtime.ts); only the stores are local.
 */
export async function composeLocalRuntime(
  settings: RuntimeSettings,
  env: Env,
  logger?: Logger,
): Promise<LocalRuntime> {
  const database = openDatabase(databaseFile(settings.dataDir));
  const sessionStore = new SqliteSessionStore(database);
  const conversations = new SqliteConversationIndex(database);
  let runtime: AgentRuntime;
  try {
    runtime = await composeAgentRuntime(settings, env, { sessionStore, conversations }, logger);
  } catch (error) {
    // A bad agent directory, say: nothing is left open behind the error.
    database.close();
    throw error;
  }
  return {
    runtime,
    database,
    conversations,
    sessionStore,
    sweepExpired: () =>
      sweepExpiredConversations({
        conversations,
        sessionStore,
        workspaces: new LocalWorkspaceStore(workspacesRoot(settings.dataDir)),
        now: Date.now(),
        logger,
      }),
    async close() {
      await runtime.close();
      database.close();
    },
  };
}
