import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import { migrate, type SqliteDatabase } from './database.js';

/** The reply outbox in the local SQLite database (table from the job queue's migration). */
export class SqliteReplyOutbox implements ReplyOutbox {
  private readonly statements;

  constructor(
    readonly db: SqliteDatabase,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db);
    this.statements = {
      get: db.prepare<[string], { entry: string; sent: number }>(
        'SELECT entry, sent FROM reply_outbox WHERE key = ?',
      ),
      put: db.prepare<[string, string, number]>(
        `INSERT INTO reply_outbox (key, entry, sent, created_at) VALUES (?, ?, 0, ?)
         ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, sent = 0, created_at = excluded.created_at`,
      ),
      markSent: db.prepare<[number, string]>('UPDATE reply_outbox SET sent = ? WHERE key = ?'),
      delete: db.prepare<[string]>('DELETE FROM reply_outbox WHERE key = ?'),
    };
  }

  async get(key: string): Promise<OutboxEntry | null> {
    const row = this.statements.get.get(key);
    if (!row) return null;
    const stored = JSON.parse(row.entry) as Omit<OutboxEntry, 'sent'>;
    return { ...stored, sent: row.sent };
  }

  async put(key: string, entry: Omit<OutboxEntry, 'sent'>): Promise<void> {
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

  async delete(key: string): Promise<void> {
    this.statements.delete.run(key);
  }
}
