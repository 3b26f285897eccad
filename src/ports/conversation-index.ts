import { AgentError } from '../domain/errors.js';

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
  /**
   * The uuid of the last transcript entry of the session's last settled turn
   * (answered, stopped or cut at a limit): the next turn resumes at it, so
   * whatever a failed attempt appended after it (the retried message, a
   * partial answer) is never on the path the model sees. Null when no turn of
   * the session has recorded one (and on records older than the field): the
   * session is then resumed at its latest entry.
   */
  lastGoodEntry: string | null;
  createdAt: number;
  updatedAt: number;
  /** After this instant (epoch ms) the conversation starts fresh. */
  expiresAt: number;
  turns: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /**
   * The SDK's running cost total for the current session, as its last result
   * reported it. The SDK's `total_cost_usd` carries on across resumes, so a
   * turn's own cost is its total minus this. Zero when there is no session.
   */
  sessionCostUsd: number;
  /**
   * The UTC day (`YYYY-MM-DD`, see utcDay) that `costDayUsd` counts, for the
   * daily budget; null on a record that has had no turn since it was added.
   */
  costDay: string | null;
  /** Cost of the conversation's turns on `costDay`. Kept by resetSession: `/new` is no way round the daily budget. */
  costDayUsd: number;
  /** Incremented by every write; the compare-and-set token. */
  version: number;
}

export interface TurnRecord {
  sessionId: string;
  projectKey: string;
  /** See ConversationRecord.lastGoodEntry; absent or null clears it. */
  lastGoodEntry?: string | null | undefined;
  inputTokens: number;
  outputTokens: number;
  /** This turn's cost, added to the conversation's total. */
  costUsd: number;
  /** The SDK's running total for the session after this turn (see ConversationRecord). */
  sessionCostUsd: number;
  /** Time of the turn, epoch ms. */
  at: number;
  /** Time to live after `at`, ms. */
  ttlMs: number;
}

export class VersionConflictError extends AgentError {
  static override readonly errorName = 'VersionConflictError';
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
   * The turn's cost also counts towards the day of `turn.at` (utcDay): added
   * to `costDayUsd` when that is `costDay`, starting it afresh when it is a
   * later day, and left out of it when it is an earlier one (a late write
   * from a turn that began before midnight).
   * `expectedVersion` is the version read before the turn (null: no record then).
   * Throws VersionConflictError when the record changed in between.
   */
  recordTurn(
    conversationId: string,
    turn: TurnRecord,
    expectedVersion: number | null,
  ): Promise<ConversationRecord>;
  /**
   * Forget the session and its last good entry (`/new`, expiry): the next turn starts a fresh one.
   * Conversation totals are kept; `sessionCostUsd` goes back to zero.
   */
  resetSession(conversationId: string): Promise<void>;
  /**
   * Records that still hold a session and whose expiry is before `now`, for
   * sweeping their transcripts. Records without a session (after
   * `resetSession`) are left out: they have nothing to sweep, and a sweeper
   * that resets what it swept would otherwise see them again on every pass.
   */
  listExpired(now: number, limit: number): Promise<ConversationRecord[]>;
  /** Remove the record entirely. */
  delete(conversationId: string): Promise<void>;
}

/** The UTC calendar day of an instant, `YYYY-MM-DD`: the unit of the daily budget. */
export function utcDay(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}
