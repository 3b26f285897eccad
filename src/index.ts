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
export { AgentRuntime, type AgentRuntimeOptions } from './core/agent/agent-runtime.js';
export { type ConversationRef, conversationId } from './domain/conversation.js';
export { AgentError } from './domain/errors.js';
export type { InboundMessage } from './domain/inbound-message.js';
export type { TurnOutcome, TurnRequest, TurnResult } from './domain/turn.js';
export type { Channel, OutgoingPart } from './ports/channel.js';
export {
  type ConversationIndex,
  type ConversationRecord,
  VersionConflictError,
} from './ports/conversation-index.js';
export type { ConversationLease, Lease } from './ports/conversation-lease.js';
export type { ClaimedBatch, JobQueue, JobSink } from './ports/job-queue.js';
export type { Logger } from './ports/logger.js';
export type { ModelUpstream, UpstreamRequest } from './ports/model-upstream.js';
export type { OutboxEntry, ReplyOutbox } from './ports/reply-outbox.js';
export type { SecretSource } from './ports/secret-source.js';
export type { SessionKey, SessionStore, SessionStoreEntry } from './ports/session-store.js';
export type { RunningTurn, TurnControl } from './ports/turn-control.js';
export type { TurnRunner } from './ports/turn-runner.js';
export type { DedupeClaim, UpdateDedupe } from './ports/update-dedupe.js';
