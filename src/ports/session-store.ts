/**
 * The transcript store port is the Claude Agent SDK's own `SessionStore`
 * interface: the SDK mirrors every transcript line into it and loads from it
 * on resume. Adapters implement it exactly, so any SDK user can adopt them.
 */
export type { SessionKey, SessionStore, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';
