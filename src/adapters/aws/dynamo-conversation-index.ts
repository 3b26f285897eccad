/**
 * The conversation index on DynamoDB: one item per conversation, every write
 * conditioned on the version read before the turn (compare-and-set).
 *
 * Item: pk `C#<enc conversationId>`, sk `C`; the record's fields under their
 * own names (`costDay` absent until the first turn), except its expiry
 * (epoch ms), stored as `expiryMs`. While the
 * record holds a session it also carries `expiryKey` = 'conversation', the
 * mark `listExpired` looks for; `resetSession` removes it. The TTL attribute
 * `expiresAt` (epoch seconds) is the record's expiry plus
 * `retainAfterExpirySeconds`, after which DynamoDB deletes the record.
 *
 * `listExpired` scans the table: on AWS nothing sweeps (TTL expires the
 * conversation's items), and an index to make it cheap would put every
 * conversation write under one partition value, which throttles at a few
 * hundred writes a second.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type ConversationIndex,
  type ConversationRecord,
  type TurnRecord,
  utcDay,
  VersionConflictError,
} from '../../ports/conversation-index.js';
import { conditionFailureItem, type Item, isConditionalCheckFailed } from './dynamo-util.js';
import { epochSeconds, keyPart } from './table.js';

export interface DynamoConversationIndexOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * How long DynamoDB keeps a record after its expiry before TTL deletes it,
   * with its usage totals (default 0: gone with the session).
   */
  retainAfterExpirySeconds?: number;
  /** Clock for `updatedAt` of writes that carry no time of their own (reset), epoch ms. */
  now?: () => number;
}

const EXPIRY_KEY = 'conversation';

export class DynamoConversationIndex implements ConversationIndex {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retainSeconds: number;
  readonly #now: () => number;

  constructor(options: DynamoConversationIndexOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#retainSeconds = options.retainAfterExpirySeconds ?? 0;
    this.#now = options.now ?? Date.now;
  }

  async get(conversationId: string): Promise<ConversationRecord | null> {
    const item = await this.#read(conversationId);
    return item ? toRecord(item) : null;
  }

  async recordTurn(
    conversationId: string,
    turn: TurnRecord,
    expectedVersion: number | null,
  ): Promise<ConversationRecord> {
    const expiryMs = turn.at + turn.ttlMs;
    const expiresAt = epochSeconds(expiryMs) + this.#retainSeconds;
    try {
      if (expectedVersion === null) {
        const record: ConversationRecord = {
          conversationId,
          sessionId: turn.sessionId,
          projectKey: turn.projectKey,
          lastGoodEntry: turn.lastGoodEntry ?? null,
          createdAt: turn.at,
          updatedAt: turn.at,
          expiresAt: expiryMs,
          turns: 1,
          inputTokens: turn.inputTokens,
          outputTokens: turn.outputTokens,
          costUsd: turn.costUsd,
          sessionCostUsd: turn.sessionCostUsd,
          costDay: utcDay(turn.at),
          costDayUsd: turn.costUsd,
          version: 1,
        };
        const { expiresAt: _recordExpiry, ...fields } = record;
        await this.#doc.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              ...itemKey(conversationId),
              ...fields,
              expiryMs,
              expiryKey: EXPIRY_KEY,
              expiresAt,
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return record;
      }
      const day = utcDay(turn.at);
      const values = {
        ':sessionId': turn.sessionId,
        ':projectKey': turn.projectKey,
        ':lastGoodEntry': turn.lastGoodEntry ?? null,
        ':at': turn.at,
        ':expiryMs': expiryMs,
        ':expiryKey': EXPIRY_KEY,
        ':expiresAt': expiresAt,
        ':sessionCostUsd': turn.sessionCostUsd,
        ':next': expectedVersion + 1,
        ':one': 1,
        ':inputTokens': turn.inputTokens,
        ':outputTokens': turn.outputTokens,
        ':costUsd': turn.costUsd,
        ':expected': expectedVersion,
      };
      const common = `SET sessionId = :sessionId, projectKey = :projectKey,
        lastGoodEntry = :lastGoodEntry, updatedAt = :at,
        expiryMs = :expiryMs, expiryKey = :expiryKey, expiresAt = :expiresAt,
        sessionCostUsd = :sessionCostUsd, version = :next`;
      const totals =
        'turns :one, inputTokens :inputTokens, outputTokens :outputTokens, costUsd :costUsd';
      // The daily cost has three cases an update expression cannot choose
      // between. The usual one (same day as the last turn) is tried first, in
      // one request; the once-a-day others read the record to pick theirs.
      try {
        const result = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: itemKey(conversationId),
            UpdateExpression: `${common} ADD ${totals}, costDayUsd :costUsd`,
            ConditionExpression: 'version = :expected AND costDay = :day',
            ExpressionAttributeValues: { ...values, ':day': day },
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return toRecord(result.Attributes ?? {});
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw error;
        const current = conditionFailureItem(error) ?? (await this.#read(conversationId));
        if (!current || current.version !== expectedVersion) throw error;
        const storedDay = typeof current.costDay === 'string' ? current.costDay : null;
        const laterDay = storedDay === null || storedDay < day;
        // Every write bumps the version, so the version alone guards what was read.
        const result = await this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: itemKey(conversationId),
            UpdateExpression: laterDay
              ? `${common}, costDay = :day, costDayUsd = :costUsd ADD ${totals}`
              : `${common} ADD ${totals}`,
            ConditionExpression: 'version = :expected',
            ExpressionAttributeValues: laterDay ? { ...values, ':day': day } : values,
            ReturnValues: 'ALL_NEW',
          }),
        );
        return toRecord(result.Attributes ?? {});
      }
    } catch (error) {
      if (isConditionalCheckFailed(error)) {
        throw new VersionConflictError(conversationId, expectedVersion);
      }
      throw error;
    }
  }

  async #read(conversationId: string): Promise<Item | undefined> {
    const result = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: itemKey(conversationId),
        ConsistentRead: true,
      }),
    );
    return result.Item;
  }

  async resetSession(conversationId: string): Promise<void> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: itemKey(conversationId),
          // Leaving the expiry index: nothing is left to sweep.
          UpdateExpression: `SET sessionId = :null, projectKey = :null, lastGoodEntry = :null,
            sessionCostUsd = :zero,
            updatedAt = :now ADD version :one REMOVE expiryKey`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: {
            ':null': null,
            ':zero': 0,
            ':now': Math.floor(this.#now()),
            ':one': 1,
          },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  /**
   * Oldest expiry first among the first `limit` found. A full scan, page by
   * page until enough are found: for an occasional sweep, never on a turn's
   * path (see the note at the top).
   */
  async listExpired(now: number, limit: number): Promise<ConversationRecord[]> {
    const records: ConversationRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#doc.send(
        new ScanCommand({
          TableName: this.#table,
          FilterExpression: 'expiryKey = :expiryKey AND expiryMs < :now',
          ExpressionAttributeValues: { ':expiryKey': EXPIRY_KEY, ':now': now },
          ExclusiveStartKey: startKey,
        }),
      );
      records.push(...(page.Items ?? []).map(toRecord));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined && records.length < limit);
    return records.sort((a, b) => a.expiresAt - b.expiresAt).slice(0, limit);
  }

  async delete(conversationId: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: itemKey(conversationId) }),
    );
  }
}

/** The leading characters of every conversation record's key (IAM conditions in infra/ use it). */
export const CONVERSATION_KEY_PREFIX = 'C#';

function itemKey(conversationId: string): { pk: string; sk: string } {
  return { pk: `${CONVERSATION_KEY_PREFIX}${keyPart(conversationId)}`, sk: 'C' };
}

function toRecord(item: Item): ConversationRecord {
  return {
    conversationId: String(item.conversationId),
    sessionId: typeof item.sessionId === 'string' ? item.sessionId : null,
    projectKey: typeof item.projectKey === 'string' ? item.projectKey : null,
    lastGoodEntry: typeof item.lastGoodEntry === 'string' ? item.lastGoodEntry : null,
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    expiresAt: Number(item.expiryMs),
    turns: Number(item.turns),
    inputTokens: Number(item.inputTokens),
    outputTokens: Number(item.outputTokens),
    costUsd: Number(item.costUsd),
    sessionCostUsd: Number(item.sessionCostUsd),
    costDay: typeof item.costDay === 'string' ? item.costDay : null,
    costDayUsd: Number(item.costDayUsd ?? 0),
    version: Number(item.version),
  };
}
