import type { ButtonAction } from '../../domain/person-questions.js';
import { Wakeups } from '../../lib/wakeups.js';
import {
  type OpenQuestion,
  type PressResult,
  pressEffect,
  type QuestionState,
  type QuestionStore,
  type StoredAnswer,
} from '../../ports/question-store.js';
import { migrate, type SqliteDatabase } from './database.js';

export interface SqliteQuestionStoreOptions {
  now?: () => number;
  /**
   * How often a waiting turn rereads its question, for a press recorded by
   * another connection to the file (default 1000 ms). Presses through this
   * very store wake the waiting turn at once.
   */
  pollIntervalMs?: number;
}

interface QuestionRow {
  conversation_id: string;
  question_id: string;
  options: number;
  multi_select: number;
  free_text: number;
  expires_at: number;
  version: number;
  selected: string;
  answer: string | null;
  last_press: string | null;
  answered_by: string | null;
}

/**
 * Questions and "always" approvals in the local SQLite file, so a restart
 * forgets neither: an open question's buttons still answer it, and a grant
 * lasts as long as the conversation's session (the migration's triggers drop
 * grants when the session is reset by `/new` or expiry).
 *
 * A typed answer is recorded in the same transaction as its message id in
 * `seen_messages`, the SQLite job queue's update dedupe: when Telegram
 * delivers that update again (the process died before confirming it), the
 * queue recognises it as a duplicate, even after the question is closed.
 */
export class SqliteQuestionStore implements QuestionStore {
  private readonly now: () => number;
  private readonly pollMs: number;
  private readonly wakeups = new Wakeups();
  private readonly statements;
  private readonly answerTextOnce;

  constructor(
    readonly db: SqliteDatabase,
    options: SqliteQuestionStoreOptions = {},
  ) {
    migrate(db);
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollIntervalMs ?? 1000;
    this.statements = {
      open: db.prepare(
        `INSERT OR REPLACE INTO open_questions
           (conversation_id, question_id, options, multi_select, free_text, expires_at, version, selected)
         VALUES (@conversationId, @questionId, @options, @multiSelect, @freeText, @expiresAt, 0, '[]')`,
      ),
      get: db.prepare<[string], QuestionRow>(
        'SELECT * FROM open_questions WHERE conversation_id = ?',
      ),
      // Conditional on the version read, so two presses racing through two
      // connections cannot both be recorded on the same state.
      update: db.prepare(
        `UPDATE open_questions
         SET version = version + 1, selected = @selected, answer = @answer,
             last_press = COALESCE(@pressId, last_press), answered_by = COALESCE(@answeredBy, answered_by)
         WHERE conversation_id = @conversationId AND question_id = @questionId AND version = @version`,
      ),
      close: db.prepare<[string, string]>(
        'DELETE FROM open_questions WHERE conversation_id = ? AND question_id = ?',
      ),
      seen: db.prepare<[string], { found: number }>(
        'SELECT 1 AS found FROM seen_messages WHERE id = ?',
      ),
      markSeen: db.prepare<[string, number]>(
        'INSERT INTO seen_messages (id, seen_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
      ),
      hasGrant: db.prepare<[string, string], { found: number }>(
        'SELECT 1 AS found FROM question_grants WHERE conversation_id = ? AND grant_key = ?',
      ),
      addGrant: db.prepare<[string, string, number]>(
        `INSERT INTO question_grants (conversation_id, grant_key, granted_at) VALUES (?, ?, ?)
         ON CONFLICT DO NOTHING`,
      ),
      clearGrants: db.prepare<[string]>('DELETE FROM question_grants WHERE conversation_id = ?'),
      pruneQuestions: db.prepare<[number]>('DELETE FROM open_questions WHERE expires_at < ?'),
    };
    this.answerTextOnce = db.transaction(
      (conversationId: string, text: string, messageId: string): boolean => {
        const row = this.statements.get.get(conversationId);
        if (!row || row.free_text === 0) return false;
        if (row.answered_by === messageId) return true;
        // Already taken as something else (a queued message): the queue's
        // dedupe answers it as a duplicate; it must not answer this question.
        if (this.statements.seen.get(messageId)) return false;
        if (row.answer !== null || row.expires_at <= this.now()) return false;
        const answer: StoredAnswer = { kind: 'text', text };
        this.write(row, { answer }, { answeredBy: messageId });
        this.statements.markSeen.run(messageId, this.now());
        return true;
      },
    );
  }

  async open(conversationId: string, question: OpenQuestion): Promise<void> {
    this.statements.open.run({
      conversationId,
      questionId: question.id,
      options: question.options,
      multiSelect: question.multiSelect ? 1 : 0,
      freeText: question.freeText ? 1 : 0,
      expiresAt: question.expiresAt,
    });
    this.wakeups.wake();
  }

  async press(
    conversationId: string,
    questionId: string,
    action: ButtonAction,
    pressId: string,
  ): Promise<PressResult> {
    const row = this.statements.get.get(conversationId);
    if (!row || row.question_id !== questionId || row.last_press === pressId) return 'stale';
    if (row.answer !== null || row.expires_at <= this.now()) return 'stale';
    const effect = pressEffect(
      { options: row.options, multiSelect: row.multi_select === 1 },
      JSON.parse(row.selected) as number[],
      action,
    );
    if (effect === 'stale') return 'stale';
    // Written only if nothing changed the question since it was read.
    return this.write(row, effect.change, { pressId }) ? effect.result : 'stale';
  }

  async answerText(conversationId: string, text: string, messageId: string): Promise<boolean> {
    return this.answerTextOnce.immediate(conversationId, text, messageId);
  }

  async waitForChange(
    conversationId: string,
    questionId: string,
    afterVersion: number,
    signal: AbortSignal,
  ): Promise<QuestionState | null> {
    for (;;) {
      const row = this.statements.get.get(conversationId);
      if (!row || row.question_id !== questionId) return null;
      if (row.version > afterVersion || signal.aborted) return stateOf(row);
      await this.wakeups.next(signal, this.pollMs);
    }
  }

  async close(conversationId: string, questionId: string): Promise<void> {
    if (this.statements.close.run(conversationId, questionId).changes > 0) this.wakeups.wake();
  }

  async hasGrant(conversationId: string, key: string): Promise<boolean> {
    return this.statements.hasGrant.get(conversationId, key) !== undefined;
  }

  async addGrant(conversationId: string, key: string): Promise<void> {
    this.statements.addGrant.run(conversationId, key, this.now());
  }

  async clearGrants(conversationId: string): Promise<void> {
    this.statements.clearGrants.run(conversationId);
  }

  /**
   * Removes questions left open past their time by a turn that never closed
   * them (the process died while it waited); returns rows removed.
   */
  prune(olderThanMs = 24 * 60 * 60 * 1000): number {
    return this.statements.pruneQuestions.run(this.now() - olderThanMs).changes;
  }

  private write(
    row: QuestionRow,
    change: { selected?: number[]; answer?: StoredAnswer },
    by: { pressId?: string; answeredBy?: string },
  ): boolean {
    const changed = this.statements.update.run({
      conversationId: row.conversation_id,
      questionId: row.question_id,
      version: row.version,
      selected: JSON.stringify(change.selected ?? JSON.parse(row.selected)),
      answer: change.answer ? JSON.stringify(change.answer) : row.answer,
      pressId: by.pressId ?? null,
      answeredBy: by.answeredBy ?? null,
    }).changes;
    if (changed === 0) return false;
    this.wakeups.wake();
    return true;
  }
}

function stateOf(row: QuestionRow): QuestionState {
  return {
    version: row.version,
    selected: JSON.parse(row.selected) as number[],
    answer: row.answer === null ? null : (JSON.parse(row.answer) as StoredAnswer),
  };
}
