import type { ConversationIndex, ConversationRecord } from '../../src/ports/conversation-index.js';
import type { OutboxEntry, ReplyOutbox } from '../../src/ports/reply-outbox.js';

/** A reply outbox in a Map, for worker tests. */
export class MemoryReplyOutbox implements ReplyOutbox {
  readonly entries = new Map<string, OutboxEntry>();

  async get(key: string): Promise<OutboxEntry | null> {
    const entry = this.entries.get(key);
    return entry ? structuredClone(entry) : null;
  }

  async put(key: string, entry: Omit<OutboxEntry, 'sent'>): Promise<void> {
    this.entries.set(key, structuredClone({ ...entry, sent: 0 }));
  }

  async markSent(key: string, sent: number): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) entry.sent = sent;
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
  }
}

/** A read-only conversation index holding fixed records, for `/status`. */
export function fixedConversationIndex(
  records: Record<string, ConversationRecord>,
): ConversationIndex {
  const unsupported = async (): Promise<never> => {
    throw new Error('not supported by the fixed index');
  };
  return {
    get: async (id) => records[id] ?? null,
    recordTurn: unsupported,
    resetSession: unsupported,
    listExpired: unsupported,
    delete: unsupported,
  };
}
