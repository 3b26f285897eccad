/**
 * The reply outbox on DynamoDB: the answer to a queue message, written before
 * it is sent and ticked off part by part, so a message SQS delivers again
 * (after a crash, a timeout, or a failed delete) finishes its delivery instead
 * of running the turn and answering a second time.
 *
 * Item: pk `O#<enc key>`, sk `O`, `entry` (B: the gzipped JSON of the entry
 * without `sent` and `partMessages`; answers can be long, items stop at
 * 400 KB), `sent` (N), `partMessages` (M: part index -> channel message id,
 * the placeholders parts are edited into), `statusMessage` (S: the turn's
 * status message, recorded when sent, possibly before any `entry` exists),
 * `expiresAt` (TTL, epoch seconds).
 *
 * On SQS the worker cannot remove the message and the entry in one step, so
 * it leaves entries to expire (`retentionSeconds`, longer than the queue keeps
 * a message) rather than deleting them once the message is settled.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { AwsStorageError } from './errors.js';
import { keyPart } from './table.js';

export interface DynamoReplyOutboxOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How long an entry is kept (default 7 days; SQS keeps a message at most 14, this stack 4). */
  retentionSeconds?: number;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

/** Leaves room for the keys and numbers within DynamoDB's 400 KB item limit. */
const MAX_ENTRY_BYTES = 390_000;

export class DynamoReplyOutbox implements ReplyOutbox {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retention: number;
  readonly #now: () => number;

  constructor(options: DynamoReplyOutboxOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#retention = options.retentionSeconds ?? 7 * 86_400;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<OutboxEntry | null> {
    const { Item } = await this.#doc.send(
      new GetCommand({ TableName: this.#table, Key: outboxKey(key), ConsistentRead: true }),
    );
    // No entry yet: the item only holds the batch's status message.
    if (!Item?.entry || this.#expired(Item)) return null;
    let stored: Omit<OutboxEntry, 'sent' | 'partMessages'>;
    try {
      stored = JSON.parse(gunzipSync(Item.entry as Uint8Array).toString('utf8'));
    } catch (error) {
      throw new AwsStorageError(`reply outbox entry ${key} cannot be read`, { cause: error });
    }
    const partMessages: Record<number, string> = {};
    for (const [index, id] of Object.entries((Item.partMessages ?? {}) as Record<string, string>))
      partMessages[Number(index)] = id;
    return { ...stored, sent: Number(Item.sent ?? 0), partMessages };
  }

  async put(key: string, entry: Omit<OutboxEntry, 'sent' | 'partMessages'>): Promise<void> {
    const { messageIds, parts, disposition, replyTo } = entry;
    const data = gzipSync(JSON.stringify({ messageIds, parts, disposition, replyTo }));
    if (data.byteLength > MAX_ENTRY_BYTES) {
      throw new AwsStorageError(
        `reply outbox entry ${key} is ${data.byteLength} bytes compressed, above the item limit`,
      );
    }
    // An update, not a put: the status message recorded before the answer stays.
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: outboxKey(key),
        UpdateExpression:
          'SET entry = :entry, sent = :zero, partMessages = :none, expiresAt = :expiresAt',
        ExpressionAttributeValues: {
          ':entry': data,
          ':zero': 0,
          ':none': {},
          ':expiresAt': this.#nowSeconds() + this.#retention,
        },
      }),
    );
  }

  async markSent(key: string, sent: number): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: outboxKey(key),
        UpdateExpression: 'SET sent = :sent',
        // Never recreate a deleted entry as a bare counter.
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':sent': sent },
      }),
    );
  }

  async recordPartMessage(key: string, index: number, messageId: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: outboxKey(key),
        UpdateExpression: 'SET partMessages.#index = :id',
        ConditionExpression: 'attribute_exists(entry)',
        ExpressionAttributeNames: { '#index': String(index) },
        ExpressionAttributeValues: { ':id': messageId },
      }),
    );
  }

  async statusMessage(key: string): Promise<string | null> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: outboxKey(key),
        ConsistentRead: true,
        ProjectionExpression: 'statusMessage, expiresAt',
      }),
    );
    if (!Item || this.#expired(Item) || typeof Item.statusMessage !== 'string') return null;
    return Item.statusMessage;
  }

  async recordStatusMessage(key: string, messageId: string | null): Promise<void> {
    if (messageId !== null) {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: outboxKey(key),
          UpdateExpression:
            'SET statusMessage = :id, expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ExpressionAttributeValues: {
            ':id': messageId,
            ':expiresAt': this.#nowSeconds() + this.#retention,
          },
        }),
      );
      return;
    }
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: outboxKey(key),
          UpdateExpression: 'REMOVE statusMessage',
          // Forgetting on a missing item must not create a bare one.
          ConditionExpression: 'attribute_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await this.#doc.send(new DeleteCommand({ TableName: this.#table, Key: outboxKey(key) }));
  }

  #expired(item: Record<string, unknown>): boolean {
    return typeof item.expiresAt === 'number' && item.expiresAt <= this.#nowSeconds();
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }
}

/** The leading characters of every outbox item's key (IAM conditions in infra/ use it). */
export const REPLY_OUTBOX_KEY_PREFIX = 'O#';

function outboxKey(key: string): { pk: string; sk: string } {
  return { pk: `${REPLY_OUTBOX_KEY_PREFIX}${keyPart(key)}`, sk: 'O' };
}
