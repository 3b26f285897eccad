import type { ConversationIndex, ConversationRecord } from '../../src/ports/conversation-index.js';
import type { OutboxEntry, ReplyOutbox } from '../../src/ports/reply-outbox.js';

/** A reply outbox in a Map, for worker tests. */
export class MemoryReplyOutbox implements ReplyOutbox {
  readonly entries = new Map<string, OutboxEntry>();
  readonly statuses = new Map<string, string>();

  async get(key: string): Promise<OutboxEntry | null> {
    const entry = this.entries.get(key);
    return entry ? structuredClone(entry) : null;
  }

  async put(key: string, entry: Omit<OutboxEntry, 'sent' | 'partMessages'>): Promise<void> {
    this.entries.set(key, structuredClone({ ...entry, sent: 0, partMessages: {} }));
  }

  async markSent(key: string, sent: number): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) entry.sent = sent;
  }

  async recordPartMessage(key: string, index: number, messageId: string): Promise<void> {
    const entry = this.entries.get(key);
    if (entry) entry.partMessages[index] = messageId;
  }

  async statusMessage(key: string): Promise<string | null> {
    return this.statuses.get(key) ?? null;
  }

  async recordStatusMessage(key: string, messageId: string | null): Promise<void> {
    if (messageId === null) this.statuses.delete(key);
    else this.statuses.set(key, messageId);
  }

  async delete(key: string): Promise<void> {
    this.entries.delete(key);
    this.statuses.delete(key);
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
