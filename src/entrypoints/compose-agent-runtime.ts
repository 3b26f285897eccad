import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadAgentConfig } from '../config/agent-config.js';
import type { Env, RuntimeSettings } from '../config/runtime-settings.js';
import { AgentRuntime } from '../core/agent/agent-runtime.js';
import type { ConversationIndex } from '../ports/conversation-index.js';
import type { Logger } from '../ports/logger.js';
import type { SessionStore } from '../ports/session-store.js';
import { modelAccessFrom } from './model-access-from-settings.js';

/** Where the runtime keeps what outlives a turn; each deployment brings its own. */
export interface AgentRuntimeStorage {
  sessionStore: SessionStore;
  conversations: ConversationIndex;
  /** Parent of the per-turn config directories, made if missing (default: the OS temp dir). */
  tempRoot?: string | undefined;
}

/**
 * The agent runtime from the runtime's settings and the deployment's stores:
 * the one wiring the local server, the chat CLI and the worker Lambda share.
 * It imports no storage adapter, so neither the local build pulls in the AWS
 * SDK nor the Lambda bundle SQLite; the callers make the stores. Working
 * directories live under the data directory.
 */
export async function composeAgentRuntime(
  settings: RuntimeSettings,
  env: Env,
  storage: AgentRuntimeStorage,
  logger?: Logger,
): Promise<AgentRuntime> {
  const config = await loadAgentConfig(settings.agentDir, env);
  if (storage.tempRoot) await mkdir(storage.tempRoot, { recursive: true });
  return new AgentRuntime({
    config,
    sessionStore: storage.sessionStore,
    conversations: storage.conversations,
    modelAccess: modelAccessFrom(settings.modelAccess),
    workspaceRoot: workspacesRoot(settings.dataDir),
    // Files the agent sends, until delivered: durable locally; on Lambda DATA_DIR is under /tmp.
    outgoingFilesRoot: outgoingFilesRoot(settings.dataDir),
    tempRoot: storage.tempRoot,
    model: settings.model,
    sessionTtlMs: settings.sessionTtlMs,
    modelFailure: settings.modelFailure,
    logger,
  });
}

/** Where the conversations' working directories live (the runtime's, the stores', the sweeps'). */
export function workspacesRoot(dataDir: string): string {
  return path.join(dataDir, 'workspaces');
}

/** Where files the agent sends wait for delivery (core/agent/file-staging.ts). */
export function outgoingFilesRoot(dataDir: string): string {
  return path.join(dataDir, 'outgoing-files');
}
