/**
 * Drops duplicate deliveries (Telegram `update_id`s) for longer than SQS FIFO's
 * five-minute deduplication window, with one small item per id.
 *
 * Item: pk `D#<enc namespace>#<enc id>`, sk `D`, `expiresAt` (TTL, epoch
 * seconds), `state` (`pending` or `committed`; an item without one, written
 * before it existed, counts as committed).
 *
 * Marking is two-phase so that no update is lost: `claim` takes the id for
 * `pendingSeconds` only; after the update is handed off durably (enqueued),
 * `commit` keeps the mark for `retentionSeconds`. If the hand-off fails,
 * `forget` lets the sender's retry through at once; if the caller dies before
 * either (or `forget` fails too), the claim lapses and a retry after
 * `pendingSeconds` gets through. Until then a retry finds the claim `pending`,
 * not a duplicate: the ingress answers it with a 503, so Telegram keeps
 * retrying instead of the update being acknowledged and lost.
 * The mark is read as absent once `expiresAt` has passed, since DynamoDB's TTL
 * deletes expired items only eventually.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DedupeClaim, UpdateDedupe } from '../../ports/update-dedupe.js';
import { conditionFailureItem, isConditionalCheckFailed } from './dynamo-util.js';
import { keyPart } from './table.js';

/** Partition-key prefix of dedupe items; the ingress's IAM policy is scoped to it. */
export const DEDUPE_KEY_PREFIX = 'D#';

export interface DynamoUpdateDedupeOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Separates id spaces sharing a table, e.g. one per bot (default `telegram`). */
  namespace?: string;
  /** How long a committed id is remembered (default 25 days). */
  retentionSeconds?: number;
  /** How long an uncommitted claim blocks duplicates (default 60 s; longer than the hand-off). */
  pendingSeconds?: number;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

export class DynamoUpdateDedupe implements UpdateDedupe {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #namespace: string;
  readonly #retention: number;
  readonly #pending: number;
  readonly #now: () => number;

  constructor(options: DynamoUpdateDedupeOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#namespace = options.namespace ?? 'telegram';
    this.#retention = options.retentionSeconds ?? 25 * 86_400;
    this.#pending = options.pendingSeconds ?? 60;
    this.#now = options.now ?? Date.now;
  }

  /** `claim` as a yes/no: true only when the id is new. */
  async markSeen(id: string): Promise<boolean> {
    return (await this.claim(id)) === 'claimed';
  }

  async claim(id: string): Promise<DedupeClaim> {
    const now = this.#nowSeconds();
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...this.#key(id), state: 'pending', expiresAt: now + this.#pending },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': now },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'claimed';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      // DynamoDB returns the item in the way; emulators do not, so read it then.
      const existing = conditionFailureItem(error) ?? (await this.#read(id));
      // Gone since (forgotten): the sender's next retry will find the id free.
      if (!existing || existing.state === 'pending') return 'pending';
      return 'duplicate';
    }
  }

  async commit(id: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: this.#key(id),
        UpdateExpression: 'SET expiresAt = :expiresAt, #state = :committed',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':expiresAt': this.#nowSeconds() + this.#retention,
          ':committed': 'committed',
        },
      }),
    );
  }

  async #read(id: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(id), ConsistentRead: true }),
    );
    return Item;
  }

  async forget(id: string): Promise<void> {
    await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: this.#key(id) }));
  }

  #key(id: string): { pk: string; sk: string } {
    return { pk: `${DEDUPE_KEY_PREFIX}${keyPart(this.#namespace)}#${keyPart(id)}`, sk: 'D' };
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}
