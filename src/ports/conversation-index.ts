/**
 * The conversation index maps a conversation to its current agent session and
 * keeps running totals. Writes are compare-and-set on `version` so two workers
 * that somehow raced on one conversation cannot silently overwrite each other.
 */
export interface ConversationRecord {
  conversationId: string;
  /** Current agent session; null after `/new` until the next turn starts one. */
  sessionId: string | null;
  /** The SDK's project key of the session (derived from the working directory). */
  projectKey: string | null;
  createdAt: number;
  updatedAt: number;
  /** After this instant (epoch ms) the conversation starts fresh. */
  expiresAt: number;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Incremented by every write; the compare-and-set token. */
  version: number;
}

export interface TurnRecord {
  sessionId: string;
  projectKey: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Time of the turn, epoch ms. */
  at: number;
  /** Time to live after `at`, ms. */
  ttlMs: number;
}

export class VersionConflictError extends Error {
  override readonly name = 'VersionConflictError';
  constructor(conversationId: string, expected: number | null) {
    super(
      `conversation ${conversationId} changed concurrently (expected version ${expected ?? 'none'})`,
    );
  }
}

export interface ConversationIndex {
  /** The record, expired or not (the caller decides what expiry means); null if none. */
  get(conversationId: string): Promise<ConversationRecord | null>;
  /**
   * Record a finished turn: set the session, add usage, push expiry forward.
   * `expectedVersion` is the version read before the turn (null: no record then).
   * Throws VersionConflictError when the record changed in between.
   */
  recordTurn(
    conversationId: string,
    turn: TurnRecord,
    expectedVersion: number | null,
  ): Promise<ConversationRecord>;
  /** Forget the session (`/new`, expiry): the next turn starts a fresh one. Totals are kept. */
  resetSession(conversationId: string): Promise<void>;
  /** Records whose expiry is before `now`, for sweeping their transcripts. */
  listExpired(now: number, limit: number): Promise<ConversationRecord[]>;
  /** Remove the record entirely. */
  delete(conversationId: string): Promise<void>;
}
