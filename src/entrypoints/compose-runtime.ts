import path from 'node:path';
import { databaseFile, openDatabase, type SqliteDatabase } from '../adapters/sqlite/database.js';
import { SqliteConversationIndex } from '../adapters/sqlite/sqlite-conversation-index.js';
import { SqliteSessionStore } from '../adapters/sqlite/sqlite-session-store.js';
import { loadAgentConfig } from '../config/agent-config.js';
import type { Env, RuntimeSettings } from '../config/runtime-settings.js';
import { AgentRuntime } from '../core/agent/agent-runtime.js';
import { sweepExpiredConversations } from '../core/pipeline/expiry-sweeper.js';
import type { Logger } from '../ports/logger.js';
import { modelAccessFrom } from './model-access-from-settings.js';

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
 * live beside it.
 */
export async function composeLocalRuntime(
  settings: RuntimeSettings,
  env: Env,
  logger?: Logger,
): Promise<LocalRuntime> {
  const config = await loadAgentConfig(settings.agentDir, env);
  const database = openDatabase(databaseFile(settings.dataDir));
  const sessionStore = new SqliteSessionStore(database);
  const conversations = new SqliteConversationIndex(database);
  const runtime = new AgentRuntime({
    config,
    sessionStore,
    conversations,
    modelAccess: modelAccessFrom(settings.modelAccess),
    workspaceRoot: path.join(settings.dataDir, 'workspaces'),
    model: settings.model,
    sessionTtlMs: settings.sessionTtlMs,
    logger,
  });
  return {
    runtime,
    database,
    conversations,
    sessionStore,
    sweepExpired: () =>
      sweepExpiredConversations({ conversations, sessionStore, now: Date.now(), logger }),
    async close() {
      await runtime.close();
      database.close();
    },
  };
}
