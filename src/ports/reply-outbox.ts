import type { OutgoingPart } from './channel.js';

/**
 * The answer to a batch, written down before it is sent and ticked off part by
 * part as the channel accepts each. A worker that crashed mid-delivery resumes
 * from the first part not yet sent instead of running the turn again, so the
 * person never receives the same answer twice (short of a crash in the moment
 * between the channel accepting a part and the tick being written).
 */
export interface OutboxEntry {
  /** Ids of the messages this answer covers, oldest first. */
  messageIds: string[];
  parts: OutgoingPart[];
  /** How many parts were delivered. */
  sent: number;
  /** `answered`: the jobs are done once delivered; `failed`: they are dead letters. */
  disposition: 'answered' | 'failed';
  /** Reply target for the parts. */
  replyTo?: string | undefined;
}

export interface ReplyOutbox {
  /** The entry keyed by the id of the first message of a batch, or null. */
  get(key: string): Promise<OutboxEntry | null>;
  /** Record an answer (sent = 0). Overwrites an entry with the same key. */
  put(key: string, entry: Omit<OutboxEntry, 'sent'>): Promise<void>;
  markSent(key: string, sent: number): Promise<void>;
  delete(key: string): Promise<void>;
}
