/**
 * Counts the real attempts at a queued job, instead of SQS's
 * `ApproximateReceiveCount`: a receive that ran nothing (the conversation's
 * lease was busy, too little of the invocation was left) must not use up an
 * attempt, so the queue's `maxReceiveCount` is set well above the worker's
 * attempts and this count decides when the worker gives up. It also knows
 * whether the job went to the dead-letter queue, so that an operator's
 * redrive is told apart from a delivery on the way there and runs the job
 * afresh.
 *
 * Item: pk `J#<enc job id>`, sk `J`, `attempts` (N), `deadLetteredAt` (N,
 * epoch ms; set by the dead-letter consumer), `expiresAt` (TTL, epoch
 * seconds; longer than a message can live in the queues).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { keyPart } from './table.js';

/** Partition-key prefix of attempt items. */
export const JOB_ATTEMPTS_KEY_PREFIX = 'J#';

/** What the record processor and the dead-letter consumer need of the count. */
export interface JobAttempts {
  /**
   * An attempt begins (the lease is held, the job is about to run): count it
   * and return the count, 1 for the first. `redriven` when the job had
   * reached the dead-letter queue: the count is left alone, see `restart`.
   */
  begin(jobId: string): Promise<number | 'redriven'>;
  /** Count afresh from one attempt (a redriven job); returns 1. */
  restart(jobId: string): Promise<number>;
  /** The job is in the dead-letter queue: its next delivery is a redrive. */
  markDeadLettered(jobId: string): Promise<void>;
}

export interface DynamoJobAttemptsOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long a count is kept (default 30 days: the queue keeps 4, the dead-letter queues 14 each). */
  retentionSeconds?: number;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

export class DynamoJobAttempts implements JobAttempts {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retention: number;
  readonly #now: () => number;

  constructor(options: DynamoJobAttemptsOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#retention = options.retentionSeconds ?? 30 * 86_400;
    this.#now = options.now ?? Date.now;
  }

  async begin(jobId: string): Promise<number | 'redriven'> {
    try {
      const { Attributes } = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: attemptsKey(jobId),
          UpdateExpression: 'SET expiresAt = :expiresAt ADD attempts :one',
          ConditionExpression: 'attribute_not_exists(deadLetteredAt)',
          ExpressionAttributeValues: { ':one': 1, ':expiresAt': this.#expiresAt() },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(Attributes?.attempts ?? 1);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return 'redriven';
      throw error;
    }
  }

  async restart(jobId: string): Promise<number> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: attemptsKey(jobId),
        UpdateExpression: 'SET attempts = :one, expiresAt = :expiresAt REMOVE deadLetteredAt',
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': this.#expiresAt() },
      }),
    );
    return 1;
  }

  async markDeadLettered(jobId: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: attemptsKey(jobId),
        UpdateExpression: 'SET deadLetteredAt = :at, expiresAt = :expiresAt',
        ExpressionAttributeValues: { ':at': this.#now(), ':expiresAt': this.#expiresAt() },
      }),
    );
  }

  #expiresAt(): number {
    return Math.floor(this.#now() / 1000) + this.#retention;
  }
}

function attemptsKey(jobId: string): { pk: string; sk: string } {
  return { pk: `${JOB_ATTEMPTS_KEY_PREFIX}${keyPart(jobId)}`, sk: 'J' };
}
