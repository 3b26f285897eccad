/**
 * AlbumGate on the shared DynamoDB table, for the stateless ingress Lambda:
 * an album's items may each reach another instance. One item per album,
 * written only by conditional or unconditional UpdateItem (the calls the
 * ingress role already has on its prefix), so admitting the album and
 * holding one of its items are each one atomic step: whichever comes second
 * sees the first.
 *
 * Item: pk `D#album#<enc key>`, sk `G`; `admittedAt` (N, epoch ms) once an
 * item was for the bot; `held` (L of S, InboundMessage JSON) the items that
 * came before that; `expiresAt` (TTL). It lives under the dedupe prefix as
 * the refusal markers do: a short-lived marker the ingress role may write.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type InboundMessage, parseInboundMessage } from '../../domain/inbound-message.js';
import { ALBUM_MEMORY_MS, type AlbumGate, MAX_ALBUM_ITEMS } from '../../ports/album-gate.js';
import { DEDUPE_KEY_PREFIX } from './dynamo-update-dedupe.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { epochSeconds, keyPart } from './table.js';

export interface DynamoAlbumGateOptions {
  client: DynamoDBClient;
  tableName: string;
  memoryMs?: number;
  now?: () => number;
}

export class DynamoAlbumGate implements AlbumGate {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #memoryMs: number;
  readonly #now: () => number;

  constructor(options: DynamoAlbumGateOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#memoryMs = options.memoryMs ?? ALBUM_MEMORY_MS;
    this.#now = options.now ?? Date.now;
  }

  async admit(key: string): Promise<InboundMessage[]> {
    const now = this.#now();
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: this.#key(key),
        UpdateExpression: 'SET admittedAt = if_not_exists(admittedAt, :now), expiresAt = :expires',
        ExpressionAttributeValues: { ':now': now, ':expires': this.#expires(now) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return heldOf(Attributes?.held);
  }

  async passOrHold(key: string, item: InboundMessage): Promise<boolean> {
    const now = this.#now();
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(key),
          UpdateExpression:
            'SET held = list_append(if_not_exists(held, :none), :item), expiresAt = :expires',
          ConditionExpression:
            'attribute_not_exists(admittedAt) AND (attribute_not_exists(held) OR size(held) < :max)',
          ExpressionAttributeValues: {
            ':none': [],
            ':item': [JSON.stringify(item)],
            ':expires': this.#expires(now),
            ':max': MAX_ALBUM_ITEMS,
          },
        }),
      );
      return false;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    // Admitted, or too many items held already: read which (an update that
    // changes nothing, since the ingress role may not read these items).
    const { Attributes } = await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: this.#key(key),
        UpdateExpression: 'SET expiresAt = if_not_exists(expiresAt, :expires)',
        ExpressionAttributeValues: { ':expires': this.#expires(now) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return typeof Attributes?.admittedAt === 'number';
  }

  #key(key: string) {
    return { pk: `${DEDUPE_KEY_PREFIX}album#${keyPart(key)}`, sk: 'G' };
  }

  #expires(now: number): number {
    return epochSeconds(now + this.#memoryMs);
  }
}

/** The held items, oldest first; one that no longer parses is left out (it was ours, so this is a bug, not input). */
function heldOf(held: unknown): InboundMessage[] {
  if (!Array.isArray(held)) return [];
  const items: InboundMessage[] = [];
  for (const entry of held) {
    try {
      items.push(parseInboundMessage(JSON.parse(String(entry))));
    } catch {
      // Skipped: see above.
    }
  }
  return items;
}
