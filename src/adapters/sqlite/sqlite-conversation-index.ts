import {
  type ConversationIndex,
  type ConversationRecord,
  type TurnRecord,
  utcDay,
  VersionConflictError,
} from '../../ports/conversation-index.js';
import { migrate, openDatabase, type SqliteDatabase } from './database.js';

export interface SqliteConversationIndexOptions {
  /** Clock for `updatedAt` of writes that carry no time of their own (reset), epoch ms. */
  now?: () => number;
}

/** Columns under the names of ConversationRecord, so rows need no mapping. */
const RECORD_COLUMNS = `
  conversation_id AS conversationId, session_id AS sessionId, project_key AS projectKey,
  last_good_entry AS lastGoodEntry, created_at AS createdAt, updated_at AS updatedAt, expires_at AS expiresAt, turns,
  input_tokens AS inputTokens, output_tokens AS outputTokens, cost_usd AS costUsd,
  session_cost_usd AS sessionCostUsd, cost_day AS costDay, cost_day_usd AS costDayUsd, version`;

type TurnParameters = Omit<TurnRecord, 'lastGoodEntry'> & {
  lastGoodEntry: string | null;
  conversationId: string;
  expiresAt: number;
  /** utcDay(at), for the daily cost. */
  day: string;
  expectedVersion: number | null;
};

/**
 * The conversation index on the embedded SQLite database. Every write is one
 * statement conditioned on the version read before it, so compare-and-set
 * holds across connections and processes without an explicit lock.
 */
export class SqliteConversationIndex implements ConversationIndex {
  readonly db: SqliteDatabase;
  readonly #ownsDb: boolean;
  readonly #now: () => number;

  readonly #select;
  readonly #insertFirstTurn;
  readonly #updateTurn;
  readonly #reset;
  readonly #selectExpired;
  readonly #delete;

  /** Takes an open database (shared with other adapters) or a file path to open and own. */
  constructor(database: SqliteDatabase | string, options: SqliteConversationIndexOptions = {}) {
    this.#ownsDb = typeof database === 'string';
    this.db = typeof database === 'string' ? openDatabase(database) : database;
    if (!this.#ownsDb) migrate(this.db);
    this.#now = options.now ?? Date.now;
    const db = this.db;

    this.#select = db.prepare<[string], ConversationRecord>(
      `SELECT ${RECORD_COLUMNS} FROM conversations WHERE conversation_id = ?`,
    );
    // DO NOTHING + RETURNING yields no row when the record already exists:
    // someone else created it since we read "no record".
    this.#insertFirstTurn = db.prepare<TurnParameters, ConversationRecord>(
      `INSERT INTO conversations (
         conversation_id, session_id, project_key, last_good_entry, created_at, updated_at, expires_at,
         turns, input_tokens, output_tokens, cost_usd, session_cost_usd,
         cost_day, cost_day_usd, version)
       VALUES (
         @conversationId, @sessionId, @projectKey, @lastGoodEntry, @at, @at, @expiresAt,
         1, @inputTokens, @outputTokens, @costUsd, @sessionCostUsd, @day, @costUsd, 1)
       ON CONFLICT (conversation_id) DO NOTHING
       RETURNING ${RECORD_COLUMNS}`,
    );
    this.#updateTurn = db.prepare<TurnParameters, ConversationRecord>(
      `UPDATE conversations SET
         session_id = @sessionId, project_key = @projectKey, last_good_entry = @lastGoodEntry,
         updated_at = @at, expires_at = @expiresAt,
         turns = turns + 1,
         input_tokens = input_tokens + @inputTokens,
         output_tokens = output_tokens + @outputTokens,
         cost_usd = cost_usd + @costUsd,
         session_cost_usd = @sessionCostUsd,
         -- Days compare as text (YYYY-MM-DD). A turn of an earlier day than the
         -- one counted (a late write) leaves the day's figure alone.
         cost_day_usd = CASE
           WHEN cost_day = @day THEN cost_day_usd + @costUsd
           WHEN cost_day > @day THEN cost_day_usd
           ELSE @costUsd END,
         cost_day = CASE WHEN cost_day > @day THEN cost_day ELSE @day END,
         version = version + 1
       WHERE conversation_id = @conversationId AND version = @expectedVersion
       RETURNING ${RECORD_COLUMNS}`,
    );
    this.#reset = db.prepare<[number, string]>(
      `UPDATE conversations SET
         session_id = NULL, project_key = NULL, last_good_entry = NULL, session_cost_usd = 0,
         updated_at = ?, version = version + 1
       WHERE conversation_id = ?`,
    );
    this.#selectExpired = db.prepare<[number, number], ConversationRecord>(
      `SELECT ${RECORD_COLUMNS} FROM conversations
       WHERE session_id IS NOT NULL AND expires_at < ?
       ORDER BY expires_at LIMIT ?`,
    );
    this.#delete = db.prepare<[string]>('DELETE FROM conversations WHERE conversation_id = ?');
  }

  async get(conversationId: string): Promise<ConversationRecord | null> {
    return this.#select.get(conversationId) ?? null;
  }

  async recordTurn(
    conversationId: string,
    turn: TurnRecord,
    expectedVersion: number | null,
  ): Promise<ConversationRecord> {
    const parameters: TurnParameters = {
      conversationId,
      sessionId: turn.sessionId,
      projectKey: turn.projectKey,
      lastGoodEntry: turn.lastGoodEntry ?? null,
      inputTokens: turn.inputTokens,
      outputTokens: turn.outputTokens,
      costUsd: turn.costUsd,
      sessionCostUsd: turn.sessionCostUsd,
      at: turn.at,
      ttlMs: turn.ttlMs,
      expiresAt: turn.at + turn.ttlMs,
      day: utcDay(turn.at),
      expectedVersion,
    };
    const record =
      expectedVersion === null
        ? this.#insertFirstTurn.get(parameters)
        : this.#updateTurn.get(parameters);
    if (!record) throw new VersionConflictError(conversationId, expectedVersion);
    return record;
  }

  async resetSession(conversationId: string): Promise<void> {
    this.#reset.run(Math.floor(this.#now()), conversationId);
  }

  /** Oldest expiry first; records without a session hold no transcript to sweep. */
  async listExpired(now: number, limit: number): Promise<ConversationRecord[]> {
    return this.#selectExpired.all(now, limit);
  }

  async delete(conversationId: string): Promise<void> {
    this.#delete.run(conversationId);
  }

  /** Closes the database if this index opened it; a shared one is left to its owner. */
  close(): void {
    if (this.#ownsDb) this.db.close();
  }
}
