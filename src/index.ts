/**
 * Public API of the package. The session stores implement the Claude Agent
 * SDK's own `SessionStore` interface, so any SDK user can adopt them:
 *
 *   import { SqliteSessionStore } from 'telegram-claude-agent';
 *   query({ prompt, options: { sessionStore: new SqliteSessionStore('./data/agent.sqlite') } });
 */
export { openDatabase } from './adapters/sqlite/database.js';
export { SqliteConversationIndex } from './adapters/sqlite/sqlite-conversation-index.js';
export { SqliteSessionStore } from './adapters/sqlite/sqlite-session-store.js';
export { type AgentConfig, AgentConfigError, loadAgentConfig } from './config/agent-config.js';
export { AgentRuntime, type AgentRuntimeOptions } from './core/agent-runtime.js';
export { type ConversationRef, conversationId } from './core/conversation.js';
export type { TurnRequest, TurnResult, TurnRunner } from './core/turn.js';
export type { ConversationIndex, ConversationRecord } from './ports/conversation-index.js';
