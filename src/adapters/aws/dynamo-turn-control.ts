/**
 * Turn control across Lambdas: which conversation has a turn running, and a
 * way to stop it from elsewhere. A running turn holds one item; `/stop` (from
 * the ingress, or from a worker handling the control lane) marks it, and the
 * worker running the turn reads the mark every `pollIntervalMs` and aborts
 * the turn. Nothing has to wait behind the turn in its FIFO message group.
 *
 * Item: pk `R#<enc conversationId>`, sk `R`, `token` (S, the turn's own),
 * `since` and `until` (epoch ms), `stopAt` (epoch ms, once a stop was asked),
 * `expiresAt` (TTL, epoch seconds).
 *
 * `until` is when the turn is over at the latest (the worker's deadline):
 * after it the item no longer counts as running, so the item of a worker that
 * died mid-turn cannot swallow a later `/stop` or make `/status` say "working"
 * for long. `begin` overwrites the item unconditionally: the conversation
 * lease already guarantees one turn per conversation.
 *
 * The ingress only needs `requestStop` (one conditional UpdateItem on `R#`
 * items); import this file directly, it does not load the Agent SDK.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { errorMessage } from '../../domain/errors.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { RunningTurn, TurnControl } from '../../ports/turn-control.js';
import { isConditionalCheckFailed } from './dynamo-util.js';
import { epochSeconds, keyPart } from './table.js';

/** Partition-key prefix of the running-turn items (for IAM `dynamodb:LeadingKeys`). */
export const TURN_CONTROL_KEY_PREFIX = 'R#';

const DEFAULT_MAX_TURN_MS = 15 * 60 * 1000;
const LINGER_SECONDS = 86_400;

export interface DynamoTurnControlOptions {
  client: DynamoDBClient;
  tableName: string;
  /** How often a running turn looks for a stop request (default 1000 ms). */
  pollIntervalMs?: number;
  /** When a turn begun now is over at the latest, epoch ms (default: 15 minutes from now). */
  runningUntil?: () => number;
  logger?: Logger;
  /** Clock, epoch ms (injectable for tests). */
  now?: () => number;
}

export class DynamoTurnControl implements TurnControl {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #pollMs: number;
  readonly #runningUntil: () => number;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(options: DynamoTurnControlOptions) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
    this.#pollMs = options.pollIntervalMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#runningUntil = options.runningUntil ?? (() => this.#now() + DEFAULT_MAX_TURN_MS);
    this.#logger = options.logger ?? silentLogger;
  }

  begin(conversationId: string): RunningTurn {
    const controller = new AbortController();
    const token = randomUUID();
    const since = this.#now();
    const until = this.#runningUntil();
    const key = turnKey(conversationId);
    let ended = false;
    let timer: NodeJS.Timeout | undefined;

    const schedule = () => {
      if (ended) return;
      timer = setTimeout(() => this.#track(poll()), this.#pollMs);
      timer.unref?.();
    };
    const poll = async () => {
      try {
        const { Item } = await this.#doc.send(
          new GetCommand({ TableName: this.#table, Key: key, ConsistentRead: true }),
        );
        if (!ended && Item?.token === token && typeof Item.stopAt === 'number') {
          controller.abort(new Error('stopped by /stop'));
          return;
        }
      } catch (error) {
        this.#logger.warn('could not check for a stop request', {
          conversationId,
          error: errorMessage(error),
        });
      }
      schedule();
    };
    // begin() is synchronous (the port's contract); the write runs behind it.
    const written = this.#doc
      .send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...key, token, since, until, expiresAt: epochSeconds(until) + LINGER_SECONDS },
        }),
      )
      .then(
        () => true,
        (error: unknown) => {
          this.#logger.warn('could not record the running turn; /stop will not reach it', {
            conversationId,
            error: errorMessage(error),
          });
          return false;
        },
      );
    this.#track(written.then((ok) => ok && schedule()));

    return {
      signal: controller.signal,
      end: () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        this.#track(
          written.then(async (ok) => {
            if (!ok) return;
            try {
              await this.#doc.send(
                new DeleteCommand({
                  TableName: this.#table,
                  Key: key,
                  ConditionExpression: '#token = :token',
                  ExpressionAttributeNames: { '#token': 'token' },
                  ExpressionAttributeValues: { ':token': token },
                }),
              );
            } catch (error) {
              if (isConditionalCheckFailed(error)) return;
              this.#logger.warn('could not clear the running turn', {
                conversationId,
                error: errorMessage(error),
              });
            }
          }),
        );
      },
    };
  }

  async runningSince(conversationId: string): Promise<number | null> {
    const { Item } = await this.#doc.send(
      new GetCommand({
        TableName: this.#table,
        Key: turnKey(conversationId),
        ConsistentRead: true,
      }),
    );
    if (!Item || typeof Item.until !== 'number' || Item.until <= this.#now()) return null;
    return typeof Item.since === 'number' ? Item.since : null;
  }

  async requestStop(conversationId: string): Promise<boolean> {
    try {
      await this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: turnKey(conversationId),
          UpdateExpression: 'SET stopAt = :now',
          ConditionExpression:
            'attribute_exists(pk) AND #until > :now AND attribute_not_exists(stopAt)',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':now': this.#now() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Resolves when the writes behind `begin` and `end` are done. A Lambda
   * freezes once its handler returns, so call this before returning: an item
   * left behind would keep a later `/stop` from being answered.
   */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(promise: Promise<unknown>): void {
    const tracked = promise.finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}

function turnKey(conversationId: string): { pk: string; sk: string } {
  return { pk: `${TURN_CONTROL_KEY_PREFIX}${keyPart(conversationId)}`, sk: 'R' };
}
