import type { OutgoingPart } from './channel.js';

/**
 * The answer to a batch, written down before it is sent and ticked off part by
 * part as the channel accepts each. A worker that crashed mid-delivery resumes
 * from the first part not yet sent instead of running the turn again.
 *
 * On a channel that can edit (see `Channel.sendPlaceholder`), each part first
 * gets a placeholder message whose id is recorded here (`partMessages`), and
 * is then written into it by an edit. A redelivered part is edited into the
 * same message again, which shows nothing new, so the person sees each part
 * exactly once whatever moment a crash hits. On other channels a crash in the
 * moment between the channel accepting a part and its tick being written
 * sends that part twice.
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
  /** The channel message that holds each part, by part index, once its placeholder was sent. */
  partMessages: Record<number, string>;
}

export interface ReplyOutbox {
  /** The entry keyed by the id of the first message of a batch, or null. */
  get(key: string): Promise<OutboxEntry | null>;
  /**
   * Record an answer (sent = 0, no part messages). Overwrites an answer with
   * the same key; keeps the key's status message (`statusMessage`).
   */
  put(key: string, entry: Omit<OutboxEntry, 'sent' | 'partMessages'>): Promise<void>;
  markSent(key: string, sent: number): Promise<void>;
  /** Record the channel message that part `index` of the key's answer is written into. */
  recordPartMessage(key: string, index: number, messageId: string): Promise<void>;
  /**
   * The status message ("Working on it…") shown for the batch, recorded as
   * soon as it was sent, so a later attempt after a crash reuses or removes
   * it instead of leaving it behind; null when there is none.
   */
  statusMessage(key: string): Promise<string | null>;
  /** Record (or with null, forget) the batch's status message; works before any answer exists. */
  recordStatusMessage(key: string, messageId: string | null): Promise<void>;
  /** Forget the key: its answer and its status message. */
  delete(key: string): Promise<void>;
}
