import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import { migrate, type SqliteDatabase } from './database.js';

/**
 * The reply outbox in the local SQLite database (table from the job queue's
 * migration, part messages and status message from migration 5). A row can
 * hold only a status message (entry 'null') while the batch's turn runs.
 */
export class SqliteReplyOutbox implements ReplyOutbox {
  private readonly statements;

  constructor(
    readonly db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db);
    this.statements = {
      get: db.prepare<[string], { entry: string; sent: number; part_messages: string }>(
        'SELECT entry, sent, part_messages FROM reply_outbox WHERE key = ?',
      ),
      put: db.prepare<[string, string, number]>(
        `INSERT INTO reply_outbox (key, entry, sent, created_at) VALUES (?, ?, 0, ?)
         ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, sent = 0, part_messages = '{}',
           created_at = excluded.created_at`,
      ),
      markSent: db.prepare<[number, string]>('UPDATE reply_outbox SET sent = ? WHERE key = ?'),
      recordPartMessage: db.prepare<[string, string, string]>(
        `UPDATE reply_outbox SET part_messages = json_set(part_messages, '$."' || ? || '"', ?)
         WHERE key = ?`,
      ),
      statusMessage: db.prepare<[string], { status_message: string | null }>(
        'SELECT status_message FROM reply_outbox WHERE key = ?',
      ),
      recordStatusMessage: db.prepare<[{ key: string; id: string | null; now: number }]>(
        `INSERT INTO reply_outbox (key, entry, sent, created_at, status_message)
         VALUES (@key, 'null', 0, @now, @id)
         ON CONFLICT (key) DO UPDATE SET status_message = @id`,
      ),
      forgetStatusMessage: db.prepare<[string]>(
        'UPDATE reply_outbox SET status_message = NULL WHERE key = ?',
      ),
      delete: db.prepare<[string]>('DELETE FROM reply_outbox WHERE key = ?'),
    };
  }

  async get(key: string): Promise<OutboxEntry | null> {
    const row = this.statements.get.get(key);
    if (!row) return null;
    const stored = JSON.parse(row.entry) as Omit<OutboxEntry, 'sent' | 'partMessages'> | null;
    // Only a status message so far: no answer yet.
    if (stored === null) return null;
    return { ...stored, sent: row.sent, partMessages: JSON.parse(row.part_messages) };
  }

  async put(key: string, entry: Omit<OutboxEntry, 'sent' | 'partMessages'>): Promise<void> {
    const { messageIds, parts, disposition, replyTo } = entry;
    this.statements.put.run(
      key,
      JSON.stringify({ messageIds, parts, disposition, replyTo }),
      this.now(),
    );
  }

  async markSent(key: string, sent: number): Promise<void> {
    this.statements.markSent.run(sent, key);
  }

  async recordPartMessage(key: string, index: number, messageId: string): Promise<void> {
    this.statements.recordPartMessage.run(String(index), messageId, key);
  }

  async statusMessage(key: string): Promise<string | null> {
    return this.statements.statusMessage.get(key)?.status_message ?? null;
  }

  async recordStatusMessage(key: string, messageId: string | null): Promise<void> {
    if (messageId === null) this.statements.forgetStatusMessage.run(key);
    else this.statements.recordStatusMessage.run({ key, id: messageId, now: this.now() });
  }

  async delete(key: string): Promise<void> {
    this.statements.delete.run(key);
  }
}
