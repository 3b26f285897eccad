/**
 * One turn per conversation at a time across Lambda instances: a lease item
 * per conversation, taken, renewed and given back with conditional writes.
 * SQS FIFO already serialises a message group, but redelivery after a
 * visibility timeout can hand the group to a second worker while the first
 * still runs; the lease keeps that second worker out.
 *
 * Item: pk `L#<enc conversationId>`, sk `L`, `owner`, `leaseUntil` (epoch ms),
 * `token` (N), `expiresAt` (TTL, epoch seconds: a day after the lease ends, so
 * stale lease items clean themselves up).
 *
 * `token` grows with every acquisition and survives release, so it works as a
 * fencing token: a holder can tell whether the lease changed hands. Expiry is
 * judged by the acquiring worker's clock; keep lease durations well above the
 * clock skew between instances (seconds at most on Lambda).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ConversationLease, Lease } from '../../ports/conversation-lease.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { epochSeconds, keyPart } from './table.js';

export interface DynamoConversationLeaseOptions {
  client: DynamoDBClient;
  tableName: string;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

const LINGER_SECONDS = 86_400;

export class DynamoConversationLease implements ConversationLease {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: DynamoConversationLeaseOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  async acquire(conversationId: string, owner: string, durationMs: number): Promise<Lease | null> {
    const now = this.#now();
    const leaseUntil = now + durationMs;
    try {
      const result = await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: leaseKey(conversationId),
          UpdateExpression:
            'SET #owner = :owner, leaseUntil = :until, expiresAt = :expiresAt ADD #token :one',
          ConditionExpression:
            'attribute_not_exists(pk) OR attribute_not_exists(#owner) OR leaseUntil <= :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':until': leaseUntil,
            ':expiresAt': epochSeconds(leaseUntil) + LINGER_SECONDS,
            ':now': now,
            ':one': 1,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return {
        conversationId,
        owner,
        expiresAt: leaseUntil,
        token: Number(result.Attributes?.token),
      };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return null;
      throw error;
    }
  }

  async renew(lease: Lease, durationMs: number): Promise<Lease | null> {
    const leaseUntil = this.#now() + durationMs;
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: leaseKey(lease.conversationId),
          UpdateExpression: 'SET leaseUntil = :until, expiresAt = :expiresAt',
          // The token, not the clock, decides: a lapsed lease nobody took is still ours.
          ConditionExpression: '#owner = :owner AND #token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: {
            ':owner': lease.owner,
            ':token': lease.token,
            ':until': leaseUntil,
            ':expiresAt': epochSeconds(leaseUntil) + LINGER_SECONDS,
          },
        }),
      );
      return { ...lease, expiresAt: leaseUntil };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return null;
      throw error;
    }
  }

  async release(lease: Lease): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: leaseKey(lease.conversationId),
          // The item stays (without owner) so the token keeps growing.
          UpdateExpression: 'SET leaseUntil = :zero REMOVE #owner',
          ConditionExpression: '#owner = :owner AND #token = :token',
          ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
          ExpressionAttributeValues: { ':owner': lease.owner, ':token': lease.token, ':zero': 0 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

function leaseKey(conversationId: string): { pk: string; sk: string } {
  return { pk: `L#${keyPart(conversationId)}`, sk: 'L' };
}
