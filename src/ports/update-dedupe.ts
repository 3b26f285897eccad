/**
 * Remembers which inbound ids (Telegram `update_id`s) were accepted, for
 * queues that cannot deduplicate as part of the enqueue itself (SQS FIFO
 * forgets after five minutes). The local SQLite queue does not need it: its
 * enqueue checks and records the id in the same transaction.
 *
 * Two-phase, so that no update is lost: `markSeen` claims the id briefly;
 * after the message is durably enqueued, `commit` keeps the mark for the
 * retention period; if enqueueing fails, `forget` lets the sender's retry in.
 * A caller that dies between the two leaves a claim that lapses on its own.
 */
export interface UpdateDedupe {
  /** Claim `id`: true if it is new (go ahead), false if it was accepted or claimed before. */
  markSeen(id: string): Promise<boolean>;
  /** The claimed message was handed off durably: remember it for the retention period. */
  commit(id: string): Promise<void>;
  /** The hand-off failed: drop the claim so the sender's retry is accepted. */
  forget(id: string): Promise<void>;
}
