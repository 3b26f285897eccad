/**
 * Questions across Lambdas: the worker running a turn opens the
 * conversation's question, the ingress Lambda records a button press or a
 * typed answer on it, and the worker, polling, sees the answer. Kept in the
 * running-turn partition (`R#<conversation>`, as DynamoTurnControl), so the
 * ingress needs no access beyond what `/stop` already has, and every write
 * it makes is one conditional UpdateItem (no reads).
 *
 * Items: sk `Q`, the open question: `askedId` (S), `optionCount` (N),
 * `multiSelect` and `freeText` (BOOL), `openUntil` (N, epoch ms), `pressCount`
 * (N), `selectedOptions` (NS), `givenAnswer` (M, once answered), `lastPress` /
 * `answeredBy` (S, so a
 * redelivered update counts once), `expiresAt` (TTL). sk `A`, the
 * conversation's "always" approvals: `grants` (SS of digests), `expiresAt`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ButtonAction } from '../../domain/person-questions.js';
import { abortableSleep } from '../../lib/abortable-sleep.js';
import type {
  OpenQuestion,
  PressResult,
  QuestionState,
  QuestionStore,
  StoredAnswer,
} from '../../ports/question-store.js';
import { TURN_CONTROL_KEY_PREFIX } from './dynamo-turn-control.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { epochSeconds, keyPart } from './table.js';

const LINGER_SECONDS = 86_400;
/** "Always" approvals last as long as a conversation left alone may (sessions expire after 25 days). */
const GRANT_TTL_SECONDS = 30 * 86_400;

/** The conditions every press needs: this very question, open, not answered. */
const OPEN = 'askedId = :askedId AND attribute_not_exists(givenAnswer) AND #openUntil > :now';
const NEW_PRESS = '(attribute_not_exists(lastPress) OR lastPress <> :press)';

export interface DynamoQuestionStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How often a waiting turn reads its question (default 1000 ms). */
  pollIntervalMs?: number;
  now?: () => number;
}

export class DynamoQuestionStore implements QuestionStore {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #pollMs: number;
  readonly #now: () => number;

  constructor(options: DynamoQuestionStoreOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
    this.#pollMs = options.pollIntervalMs ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async open(conversationId: string, question: OpenQuestion): Promise<void> {
    await this.#doc.send(
      new PutCommand({
        TableName: this.#table,
        Item: {
          ...key(conversationId, 'Q'),
          askedId: question.id,
          optionCount: question.options,
          multiSelect: question.multiSelect,
          freeText: question.freeText,
          openUntil: question.expiresAt,
          pressCount: 0,
          expiresAt: epochSeconds(question.expiresAt) + LINGER_SECONDS,
        },
      }),
    );
  }

  async press(
    conversationId: string,
    questionId: string,
    action: ButtonAction,
    pressId: string,
  ): Promise<PressResult> {
    const values = { ':askedId': questionId, ':now': this.#now(), ':press': pressId, ':one': 1 };
    if (action.type === 'done') {
      const done = await this.#update(
        conversationId,
        'SET givenAnswer = :answer, lastPress = :press ADD pressCount :one',
        `${OPEN} AND ${NEW_PRESS} AND multiSelect = :true`,
        { ...values, ':true': true, ':answer': { kind: 'done' } },
      );
      return done ? 'done' : 'stale';
    }
    const index = action.index;
    if (!Number.isInteger(index) || index < 0) return 'stale';
    const indexed = { ...values, ':i': index };
    if (action.type === 'choose') {
      const chosen = await this.#update(
        conversationId,
        'SET givenAnswer = :answer, lastPress = :press ADD pressCount :one',
        `${OPEN} AND ${NEW_PRESS} AND multiSelect = :false AND optionCount > :i`,
        { ...indexed, ':false': false, ':answer': { kind: 'chosen', indexes: [index] } },
      );
      return chosen ? 'chosen' : 'stale';
    }
    // A toggle without a read: add the option if absent, else take it out.
    const set = new Set([index]);
    const toggle = `${OPEN} AND ${NEW_PRESS} AND multiSelect = :true AND optionCount > :i`;
    if (
      await this.#update(
        conversationId,
        'SET lastPress = :press ADD selectedOptions :set, pressCount :one',
        `${toggle} AND (attribute_not_exists(selectedOptions) OR NOT contains(selectedOptions, :i))`,
        { ...indexed, ':true': true, ':set': set },
      )
    ) {
      return 'selected';
    }
    const removed = await this.#update(
      conversationId,
      'SET lastPress = :press DELETE selectedOptions :set ADD pressCount :one',
      `${toggle} AND contains(selectedOptions, :i)`,
      { ...indexed, ':true': true, ':set': set },
    );
    return removed ? 'unselected' : 'stale';
  }

  async answerText(conversationId: string, text: string, messageId: string): Promise<boolean> {
    return this.#update(
      conversationId,
      'SET givenAnswer = :answer, answeredBy = :message ADD pressCount :one',
      'attribute_exists(askedId) AND freeText = :true AND #openUntil > :now AND ' +
        '(attribute_not_exists(givenAnswer) OR answeredBy = :message)',
      {
        ':true': true,
        ':now': this.#now(),
        ':one': 1,
        ':message': messageId,
        ':answer': { kind: 'text', text },
      },
    );
  }

  async waitForChange(
    conversationId: string,
    questionId: string,
    afterVersion: number,
    signal: AbortSignal,
  ): Promise<QuestionState | null> {
    for (;;) {
      const { Item } = await this.#doc.send(
        new GetCommand({
          TableName: this.#table,
          Key: key(conversationId, 'Q'),
          ConsistentRead: true,
        }),
      );
      if (!Item || Item.askedId !== questionId) return null;
      const state = stateOf(Item);
      if (state.version > afterVersion || signal.aborted) return state;
      // An abort ends the wait early; the loop then returns what is there.
      await abortableSleep(this.#pollMs, signal).catch(() => {});
    }
  }

  async close(conversationId: string, questionId: string): Promise<void> {
    try {
      await this.#doc.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: key(conversationId, 'Q'),
          ConditionExpression: 'askedId = :askedId',
          ExpressionAttributeValues: { ':askedId': questionId },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async hasGrant(conversationId: string, grant: string): Promise<boolean> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: key(conversationId, 'A'),
        ConsistentRead: true,
      }),
    );
    const grants = Item?.grants;
    return grants instanceof Set && grants.has(grant);
  }

  async addGrant(conversationId: string, grant: string): Promise<void> {
    await this.#doc.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: key(conversationId, 'A'),
        UpdateExpression: 'ADD grants :grant SET expiresAt = :expires',
        ExpressionAttributeValues: {
          ':grant': new Set([grant]),
          ':expires': epochSeconds(this.#now()) + GRANT_TTL_SECONDS,
        },
      }),
    );
  }

  async clearGrants(conversationId: string): Promise<void> {
    await this.#doc.send(
      new DeleteCommand({ TableName: this.#table, Key: key(conversationId, 'A') }),
    );
  }

  /** One conditional update of the question; false when the condition failed. */
  async #update(
    conversationId: string,
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    const names: Record<string, string> = {};
    if (condition.includes('#openUntil')) names['#openUntil'] = 'openUntil';
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: key(conversationId, 'Q'),
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}

function key(conversationId: string, sk: 'Q' | 'A'): { pk: string; sk: string } {
  return { pk: `${TURN_CONTROL_KEY_PREFIX}${keyPart(conversationId)}`, sk };
}

function stateOf(item: Record<string, unknown>): QuestionState {
  const selected =
    item.selectedOptions instanceof Set
      ? [...(item.selectedOptions as Set<number>)].map(Number).sort((a, b) => a - b)
      : [];
  const raw = item.givenAnswer as { kind?: unknown; indexes?: unknown; text?: unknown } | undefined;
  let answer: StoredAnswer | null = null;
  if (raw?.kind === 'done') answer = { kind: 'chosen', indexes: selected };
  else if (raw?.kind === 'chosen' && Array.isArray(raw.indexes))
    answer = { kind: 'chosen', indexes: raw.indexes.map(Number) };
  else if (raw?.kind === 'text' && typeof raw.text === 'string')
    answer = { kind: 'text', text: raw.text };
  return { version: Number(item.pressCount ?? 0), selected, answer };
}
