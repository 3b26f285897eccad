/**
 * The worker Lambda's queue semantics: what each SQS FIFO record of a batch
 * becomes, given the core's answer for it. The entry point
 * (src/entrypoints/aws/worker-handler.ts) only wires this up.
 *
 * Per record (Powertools batch processing, FIFO-aware, so a failed record
 * fails the records after it in its group, and only those):
 *
 * - combined -> a conversation's turn-lane records that waited together are
 *   one unit (sqs-record-units.ts): its head runs one turn for all of them,
 *   and each record then ends as its message did (all deleted once the answer
 *   is recorded, or all back in the queue, the head after its backoff).
 * - another conversation's -> with `handBackReceives`, the turn-lane groups
 *   after the batch's first are handed back at once to run beside it.
 *
 * - answered -> success; SQS deletes the message. The reply outbox entry is
 *   left to expire, so a message delivered again is never answered twice.
 * - retry (turn or delivery failed, attempts left) -> failed record, visible
 *   again after a short backoff (ChangeMessageVisibility) instead of the
 *   queue's long visibility timeout.
 * - given up -> on the last attempt the core sends the person one failure
 *   message; the record fails at once, and every later delivery finds that
 *   notice in the reply outbox and fails again, until SQS's receives run out
 *   and it moves the message to the dead-letter queue.
 * - a body that is not a job -> logged, failed at once, dead-lettered after
 *   the receives; it never reaches the core.
 *
 * Attempts: with `attempts` (DynamoJobAttempts, as on Lambda) an attempt is
 * counted only when the job is about to run, so a receive that ran nothing
 * (lease busy, too little time) uses none; the queue's maxReceiveCount is
 * set well above the worker's maxAttempts for those. Without it, the
 * attempt is SQS's `ApproximateReceiveCount`. A job that comes back after
 * it reached the dead-letter queue (an operator's redrive) is counted
 * afresh and its failure notice dropped from the outbox, so it really runs
 * again instead of ending on the old notice.
 *
 * Turn-lane records hold the conversation's lease while they run (until the
 * invocation's end, so it needs no renewal); one whose conversation is leased
 * by another invocation (a redelivery while the first still runs) is retried
 * later. A turn is not started with too little of the invocation left.
 * Control-lane records (`/status`, help, refusals, a `/stop` with nothing
 * running) take no lease and are processed alongside the turns, never behind
 * them: the two lanes are separate FIFO groups.
 *
 * One processor serves one invocation: it carries that invocation's deadline
 * and lease owner.
 */
import type { Context, SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { BatchHandler, BatchResult } from '../../core/pipeline/batch.js';
import { conversationId } from '../../domain/conversation.js';
import { AgentError, errorMessage } from '../../domain/errors.js';
import { holdBackMs } from '../../domain/inbound-message.js';
import type { ConversationLease, Lease } from '../../ports/conversation-lease.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { ReplyOutbox } from '../../ports/reply-outbox.js';
import type { JobAttempts } from './dynamo-job-attempts.js';
import { processFifoBatch } from './fifo-batch.js';
import { CONTROL_GROUP_SUFFIX, type JobPayload, parseJobPayload } from './sqs-job-sink.js';
import { type PlannedRecord, planUnits } from './sqs-record-units.js';

/** What handles a job: the core's ConversationWorker, or a decorator of it (the core's BatchHandler). */
export type JobHandler = BatchHandler;

/** Hides a received message for a while; SqsMessageVisibility is the SQS one. */
export interface MessageVisibility {
  /** Visible again after `seconds` (0: at once) instead of the queue's visibility timeout. */
  change(record: SQSRecord, seconds: number): Promise<void>;
}

export interface SqsRecordProcessorOptions {
  worker: JobHandler;
  lease: ConversationLease;
  visibility: MessageVisibility;
  /** Who holds the leases this processor takes: the invocation (its request id). */
  owner: string;
  /** Turns must be wound down by this instant (epoch ms). */
  deadlineAt: number;
  /** The invocation is killed at this instant (epoch ms); a lease lasts until then. */
  endsAt: number;
  /** A turn is not started with less time than this left before `deadlineAt` (default 30 s). */
  minTurnMs?: number | undefined;
  /** Backoff before a failed message is received again, by the attempt that failed (1-based). */
  retryDelaySeconds?: ((attempt: number) => number) | undefined;
  /** Backoff when another invocation holds the conversation (default 60 s). */
  leaseBusyDelaySeconds?: number | undefined;
  /**
   * A batch may hold several conversations. Those after the first are handed
   * back at once (visible again, no attempt used) to start in another
   * invocation beside this one, as with a batch of one, while their receive
   * count is at most this; past it they run here after the first, so a busy
   * queue cannot hand a message on until its receives run out. Default 0:
   * every conversation of the batch runs here, one after another.
   */
  handBackReceives?: number | undefined;
  /** Counts real attempts (default: SQS's receive count is the attempt). */
  attempts?: JobAttempts | undefined;
  /** The core's reply outbox: a redriven job's failure notice is dropped from it. */
  outbox?: (Pick<ReplyOutbox, 'get' | 'delete'> & Partial<Pick<ReplyOutbox, 'put'>>) | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/** Raised to mark a record failed; the message stays in the queue (or moves to the DLQ). */
export class RecordFailedError extends AgentError {
  static override readonly errorName = 'RecordFailedError';
}

const DEFAULT_MIN_TURN_MS = 30_000;
const DEFAULT_LEASE_BUSY_DELAY_SECONDS = 60;

export function defaultRetryDelaySeconds(attempt: number): number {
  return Math.min(300, 15 * 2 ** (attempt - 1));
}

export class SqsRecordProcessor {
  readonly #options: SqsRecordProcessorOptions;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #retryDelay: (attempt: number) => number;
  /** Records this processor failed itself (and gave a visibility of their own). */
  readonly #failed = new Set<string>();
  /** The turn lane's units: which records one turn answers together (sqs-record-units.ts). */
  #plan = new Map<string, PlannedRecord>();
  /** What became of the records a unit's turn answered, for when their turn comes. */
  readonly #outcomes = new Map<string, Outcome>();
  /** Records of other conversations, handed back to run in invocations of their own. */
  #handBack = new Set<string>();

  constructor(options: SqsRecordProcessorOptions) {
    this.#options = options;
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#retryDelay = options.retryDelaySeconds ?? defaultRetryDelaySeconds;
  }

  /**
   * A batch, as the event source mapping delivers it: the control lane's
   * groups and the turn lane's groups side by side, so `/status` is not held
   * up by a turn that happens to share the batch. The failures are the
   * Lambda's partial batch response.
   */
  async process(records: SQSRecord[], context?: Context): Promise<SQSBatchResponse> {
    const turnLane = records.filter((record) => !isControl(record));
    this.#plan = planUnits(turnLane);
    this.#handBack = this.#othersToHandBack(turnLane);
    const [control, turn] = await Promise.all([
      this.#run(records.filter(isControl), context),
      this.#run(turnLane, context),
    ]);
    const batchItemFailures = [...control.batchItemFailures, ...turn.batchItemFailures];
    // Records failed unprocessed because an earlier one of their group
    // failed would otherwise hold the group for the whole visibility
    // timeout; SQS keeps them behind the failed one anyway.
    const skipped = new Set(batchItemFailures.map((item) => item.itemIdentifier));
    await Promise.all(
      records
        .filter((record) => skipped.has(record.messageId) && !this.#failed.has(record.messageId))
        .map((record) => this.#setVisibility(record, 0)),
    );
    return { batchItemFailures };
  }

  /**
   * One record; resolves when SQS may delete it, throws RecordFailedError
   * otherwise. The head of a unit (see sqs-record-units.ts) runs the turn for
   * the whole unit; its followers, further on in the batch, take the outcome
   * their messages got from it.
   */
  async processRecord(record: SQSRecord): Promise<void> {
    if (this.#handBack.has(record.messageId)) {
      this.#logger.info('another conversation in the batch; handed back to run beside it', {
        messageId: record.messageId,
        group: record.attributes.MessageGroupId,
      });
      return this.#fail(record, 0, 'handed back');
    }
    const planned = this.#plan.get(record.messageId);
    if (planned?.role === 'follower') return this.#follow(record, planned.head);
    const records = planned?.unit.records ?? [record];
    const logger = this.#logger;
    const receive = receiveCount(record);
    let attempt = receive;
    let payloads: JobPayload[];
    try {
      payloads = planned?.unit.payloads ?? [parseJobPayload(record.body)];
    } catch (error) {
      logger.error('queue message is not a job; it goes to the dead-letter queue', {
        messageId: record.messageId,
        attempt,
        error: errorMessage(error),
      });
      return this.#fail(record, 0, 'not a job');
    }
    const { kind, message } = payloads[0] as JobPayload;
    const id = conversationId(message.conversation);
    const log = {
      messageId: record.messageId,
      conversationId: id,
      kind,
      receive,
      ...(records.length > 1 ? { messages: records.length } : {}),
    };
    const { lease: leases, deadlineAt, endsAt, owner } = this.#options;

    if (kind === 'turn') {
      // An album's items arrive as separate updates within about a second.
      // The worker cannot fetch the ones still on their way (SQS hands out
      // none of a group's messages while one is in flight), so a young album
      // item goes back for the rest of the wait and returns with its
      // siblings behind it, as locally the queue holds it back. Capped, so a
      // clock skew between the ingress and the worker cannot hold it longer.
      const holdBack = holdBackMs(message);
      const waitMs = Math.min(holdBack, message.receivedAt + holdBack - this.#now());
      if (waitMs > 0) {
        logger.info('an album has just begun; waiting for the rest of it', { ...log, waitMs });
        return this.#fail(record, Math.ceil(waitMs / 1000), 'album held back');
      }
    }

    let lease: Lease | null = null;
    if (kind === 'turn') {
      if (deadlineAt - this.#now() < (this.#options.minTurnMs ?? DEFAULT_MIN_TURN_MS)) {
        logger.warn('too little time left in this invocation for a turn; retrying', log);
        return this.#fail(record, 0, 'too little time left');
      }
      try {
        lease = await leases.acquire(id, owner, endsAt - this.#now());
      } catch (error) {
        logger.error('could not take the conversation lease', {
          ...log,
          error: errorMessage(error),
        });
        return this.#fail(record, this.#retryDelay(attempt), errorMessage(error));
      }
      if (!lease) {
        logger.warn('another worker holds the conversation; retrying later', log);
        const busyDelay = this.#options.leaseBusyDelaySeconds ?? DEFAULT_LEASE_BUSY_DELAY_SECONDS;
        return this.#fail(record, busyDelay, 'conversation busy');
      }
    }

    let result: BatchResult;
    try {
      // A unit is as far along as its most tried message.
      const counted = await Promise.all(
        payloads.map((payload, index) =>
          this.#countAttempt(payload.message.id, receiveCount(records[index] as SQSRecord), log),
        ),
      );
      attempt = Math.max(...counted);
      result = await this.#options.worker.handle({
        kind,
        messages: payloads.map((payload) => payload.message),
        attempt,
      });
    } catch (error) {
      // Storage failed around the turn (the outbox, say): try again later.
      logger.error('handling a message failed', { ...log, attempt, error: errorMessage(error) });
      return this.#fail(record, this.#retryDelay(attempt), errorMessage(error));
    } finally {
      if (lease) {
        await leases.release(lease).catch((error: unknown) => {
          logger.warn('could not release the conversation lease', {
            ...log,
            error: errorMessage(error),
          });
        });
      }
    }

    switch (result.type) {
      case 'settled': {
        const completed = new Set(result.completed);
        const deadLettered = new Set(result.deadLettered);
        // The records after the head: each as its message was settled. One
        // the answer did not cover goes back at once (and, FIFO, the rest
        // of its group with it).
        for (const [index, payload] of payloads.entries()) {
          if (index === 0) continue;
          const messageId = (records[index] as SQSRecord).messageId;
          this.#outcomes.set(
            messageId,
            completed.has(payload.message.id)
              ? 'deleted'
              : deadLettered.has(payload.message.id)
                ? { delaySeconds: 0, reason: result.error ?? 'given up' }
                : { delaySeconds: 0, reason: 'released' },
          );
        }
        await this.#coverFollowers(payloads, deadLettered, log);
        if (completed.has(message.id)) return;
        if (!deadLettered.has(message.id)) return this.#fail(record, 0, 'released');
        // The person was told (or cannot be reached). Failing the record
        // once more sends it to the dead-letter queue: this was its last
        // receive, or a redelivery finds the outbox entry and ends here too.
        logger.error('message given up; it goes to the dead-letter queue', {
          ...log,
          attempt,
          error: result.error,
        });
        return this.#fail(record, 0, result.error ?? 'given up');
      }
      case 'retry':
        logger.warn('message will be retried', { ...log, attempt, error: result.error });
        return this.#fail(record, this.#retryDelay(attempt), result.error);
      case 'released':
        return this.#fail(record, 0, 'released');
    }
  }

  /**
   * Followers given up with their unit were told under the head's outbox key;
   * a notice of their own under theirs (empty) keeps the dead-letter consumer
   * from telling the person once more for each of them.
   */
  async #coverFollowers(
    payloads: JobPayload[],
    deadLettered: Set<string>,
    log: Record<string, unknown>,
  ): Promise<void> {
    const put = this.#options.outbox?.put;
    if (!put) return;
    const followers = payloads.slice(1).filter((payload) => deadLettered.has(payload.message.id));
    await Promise.all(
      followers.map(({ message }) =>
        put
          .call(this.#options.outbox, message.id, {
            messageIds: [message.id],
            parts: [],
            disposition: 'failed',
          })
          .catch((error: unknown) => {
            this.#logger.warn('could not record a given-up message as told', {
              ...log,
              error: errorMessage(error),
            });
          }),
      ),
    );
  }

  /** The records of the turn lane's groups after the first that may be handed back. */
  #othersToHandBack(records: SQSRecord[]): Set<string> {
    const limit = this.#options.handBackReceives ?? 0;
    const groups = new Map<string, SQSRecord[]>();
    for (const record of records) {
      const group = record.attributes.MessageGroupId ?? record.messageId;
      groups.set(group, [...(groups.get(group) ?? []), record]);
    }
    const handBack = new Set<string>();
    for (const members of [...groups.values()].slice(1)) {
      if (receiveCount(members[0] as SQSRecord) > limit) continue;
      for (const record of members) handBack.add(record.messageId);
    }
    return handBack;
  }

  /** A record a unit's head answered: deleted with it, or back to the queue. */
  async #follow(record: SQSRecord, head: string): Promise<void> {
    const outcome = this.#outcomes.get(record.messageId);
    if (outcome === 'deleted') return;
    if (!outcome) {
      // Its head never settled it (it failed, and FIFO holds this one back).
      this.#logger.warn('record held back behind its unit', { messageId: record.messageId, head });
      return this.#fail(record, 0, 'unit not settled');
    }
    return this.#fail(record, outcome.delaySeconds, outcome.reason);
  }

  /** The attempt this run is: counted, or the receive count without a counter. */
  async #countAttempt(
    jobId: string,
    receive: number,
    log: Record<string, unknown>,
  ): Promise<number> {
    const { attempts, outbox } = this.#options;
    if (!attempts) return receive;
    const counted = await attempts.begin(jobId);
    if (counted !== 'redriven') return counted;
    // Back from the dead-letter queue: an operator redrove it to run again.
    // Its failure notice is not an answer; an answer not fully delivered is
    // kept, and its delivery finished.
    const entry = await outbox?.get(jobId);
    if (entry?.disposition === 'failed') await outbox?.delete(jobId);
    this.#logger.info('redriven message runs afresh', log);
    return attempts.restart(jobId);
  }

  async #run(records: SQSRecord[], context: Context | undefined): Promise<SQSBatchResponse> {
    return processFifoBatch(records, (record) => this.processRecord(record), context);
  }

  async #fail(record: SQSRecord, delaySeconds: number, reason: string): Promise<never> {
    this.#failed.add(record.messageId);
    await this.#setVisibility(record, delaySeconds);
    throw new RecordFailedError(reason);
  }

  async #setVisibility(record: SQSRecord, seconds: number): Promise<void> {
    try {
      await this.#options.visibility.change(record, seconds);
    } catch (error) {
      // The queue's visibility timeout applies instead: later, not lost.
      this.#logger.warn('could not shorten the visibility timeout', {
        messageId: record.messageId,
        error: errorMessage(error),
      });
    }
  }
}

/** Control-lane groups are the conversation's id with CONTROL_GROUP_SUFFIX. */
function isControl(record: SQSRecord): boolean {
  return record.attributes.MessageGroupId?.endsWith(CONTROL_GROUP_SUFFIX) === true;
}

/** What a unit's turn did with a follower's message. */
type Outcome = 'deleted' | { delaySeconds: number; reason: string };

function receiveCount(record: SQSRecord): number {
  return Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1);
}
