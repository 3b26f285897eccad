/**
 * RefusalLimiter on the shared DynamoDB table: one small item per refused
 * person, claimed with a conditional put and dropped by TTL.
 *
 * Item: pk `D#refusal#<enc key>`, sk `R`, `expiresAt` (TTL, epoch seconds).
 * It lives under the dedupe prefix on purpose: the ingress Lambda's IAM policy
 * (`dynamodb:LeadingKeys`) lets it write only those items and the running-turn
 * ones, and this is the same kind of short-lived marker. The sort key keeps it
 * apart from dedupe items (sk `D`). The claim counts as absent once
 * `expiresAt` has passed, since TTL deletes expired items only eventually.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { REFUSAL_QUIET_MS, type RefusalLimiter } from '../../ports/refusal-limiter.js';
import { DEDUPE_KEY_PREFIX } from './dynamo-update-dedupe.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { keyPart } from './table.js';

export interface DynamoRefusalLimiterOptions {
  client: DynamoDBClient;
  tableName: string;
  quietMs?: number;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

export class DynamoRefusalLimiter implements RefusalLimiter {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #quietSeconds: number;
  readonly #now: () => number;

  constructor(options: DynamoRefusalLimiterOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#quietSeconds = Math.ceil((options.quietMs ?? REFUSAL_QUIET_MS) / 1000);
    this.#now = options.now ?? Date.now;
  }

  async claim(key: string): Promise<boolean> {
    const now = Math.floor(this.#now() / 1000);
    try {
      await this.#doc.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `${DEDUPE_KEY_PREFIX}refusal#${keyPart(key)}`,
            sk: 'R',
            expiresAt: now + this.#quietSeconds,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
