/**
 * Remembers which inbound ids (Telegram `update_id`s) were accepted, for
 * queues that cannot deduplicate as part of the enqueue itself (SQS FIFO
 * forgets after five minutes). The local SQLite queue does not need it: its
 * enqueue checks and records the id in the same transaction.
 *
 * Two-phase, so that no update is lost: `claim` takes the id briefly; after
 * the message is durably enqueued, `commit` keeps the mark for the retention
 * period; if enqueueing fails, `forget` lets the sender's retry in. A caller
 * that dies between the two (or whose `forget` fails too) leaves a claim that
 * lapses on its own. Only a committed id is a duplicate: a claim still
 * pending is someone's hand-off in flight (or a failed one), so the sender is
 * asked to retry later rather than told the update was taken.
 */
export interface UpdateDedupe {
  /**
   * Claim `id`: `claimed` if it is new (go ahead), `duplicate` if it was
   * accepted before, `pending` if another claim on it is not committed yet.
   */
  claim(id: string): Promise<DedupeClaim>;
  /** The claimed message was handed off durably: remember it for the retention period. */
  commit(id: string): Promise<void>;
  /** The hand-off failed: drop the claim so the sender's retry is accepted. */
  forget(id: string): Promise<void>;
}

export type DedupeClaim = 'claimed' | 'duplicate' | 'pending';
