import type { InboundMessage, LaneKind } from '../domain/inbound-message.js';

/**
 * The durable queue between ingress and workers: at-least-once, strictly
 * ordered within a lane (one conversation's `turn` or `control` messages),
 * one batch in flight per lane, lanes served in parallel.
 */

export interface QueuedJob {
  /** The message's id (also the dedupe key). */
  id: string;
  message: InboundMessage;
  /** How many times the job has been claimed, this claim included. */
  attempts: number;
  enqueuedAt: number;
}

/** The head of one lane and whatever could be combined with it, leased to one worker. */
export interface ClaimedBatch {
  kind: LaneKind;
  conversationId: string;
  /** Oldest first; never empty. */
  jobs: QueuedJob[];
  /** Claims of the head job so far, this one included (1 on the first try). */
  attempt: number;
}

export type EnqueueResult = 'enqueued' | 'duplicate';

export interface ClaimOptions {
  /** Most jobs to take into one batch. */
  maxJobs: number;
  /** The lease: if not completed, retried or extended by then, the lane is free again. */
  leaseMs: number;
  /** Whether a later job may join the batch the head starts. */
  canCombine(first: InboundMessage, next: InboundMessage): boolean;
}

/** The ingress side of a queue: all that ingress needs (an SQS producer implements just this). */
export interface JobSink {
  /**
   * Store the message on its conversation's lane, durably. A queue that can
   * deduplicate by the message's id does so here ('duplicate'); the local
   * queue checks and records the id in the same transaction as the insert, so
   * a crash between them can neither lose a message nor let it in twice.
   */
  enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult>;
}

/** A queue the local worker pool drives: leases lanes itself. */
export interface JobQueue extends JobSink {
  /**
   * Lease the oldest ready lane of this kind: its head job (due, see `retry`)
   * and the pending jobs behind it that combine with it. Null if none is ready.
   */
  claim(kind: LaneKind, options: ClaimOptions): Promise<ClaimedBatch | null>;
  /** Keep a long batch's lease alive. */
  extendLease(jobIds: readonly string[], leaseMs: number): Promise<void>;
  /** Done: the jobs are removed (their ids stay known to dedupe). */
  complete(jobIds: readonly string[]): Promise<void>;
  /** Put claimed jobs back untouched, not counting this claim as an attempt. */
  release(jobIds: readonly string[]): Promise<void>;
  /** Failed: the jobs become due again after `delayMs`; the lane waits for them. */
  retry(jobIds: readonly string[], delayMs: number, error: string): Promise<void>;
  /** Given up: the jobs move to the dead letters, and the lane moves on. */
  deadLetter(jobIds: readonly string[], error: string): Promise<void>;
  /**
   * At start-up: leases held by a previous run of this process are void, so
   * their jobs are pending again (their attempt counts stay). Returns how many.
   */
  recoverInterrupted(): Promise<number>;
  /** When the next job of this kind becomes due (epoch ms), or null if none is waiting. */
  nextDueAt(kind: LaneKind): Promise<number | null>;
}
