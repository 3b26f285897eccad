/**
 * The ingress Lambda: Telegram's webhook behind API Gateway (HTTP API).
 *
 *   verify the secret header (constant time) -> parse the update -> normalise
 *   (the Telegram adapter, access policy included) -> drop a repeated
 *   update_id (DynamoDB) -> SQS FIFO, one group per conversation lane -> 200
 *
 * 200 once the message is durably queued, and for updates the bot does not
 * handle (Telegram would otherwise redeliver them for a day); 400 for a body
 * that is not an update at all; 401 without the right secret; 5xx when
 * DynamoDB or SQS cannot take the update, so Telegram retries it (the dedupe
 * claim is dropped first). `/stop` reaches a running turn from here
 * (StopFirstSink), without queueing behind it.
 *
 * Small on purpose: no Agent SDK and no grammY in this module's import graph.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { z } from 'zod';
import { DynamoTurnControl } from '../../adapters/aws/dynamo-turn-control.js';
import { DynamoUpdateDedupe } from '../../adapters/aws/dynamo-update-dedupe.js';
import { PowertoolsSecretSource } from '../../adapters/aws/secret-source.js';
import { SqsJobSink } from '../../adapters/aws/sqs-job-sink.js';
import { type BotIdentity, normalizeUpdate } from '../../adapters/telegram/normalize-update.js';
import type { Env } from '../../config/runtime-settings.js';
import { Ingress } from '../../core/pipeline/ingress.js';
import { StopFirstSink } from '../../core/pipeline/stop-first-sink.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import { type BotApiLite, botApiLite } from './bot-api-lite.js';
import { type IngressSettings, loadIngressSettings } from './handler-settings.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

export interface IngressHandlerOptions {
  /** Default: process.env. */
  env?: Env;
  /** Default: Secrets Manager through Powertools Parameters. */
  secrets?: SecretSource;
  dynamo?: DynamoDBClient;
  sqs?: SQSClient;
  /** Default: Powertools Logger (JSON lines, Lambda context attached). */
  logger?: Logger;
  now?: () => number;
}

export type IngressHandler = (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** The envelope every Telegram update has; anything without it is not from Telegram. */
const updateEnvelope = z.looseObject({ update_id: z.number().int().nonnegative() });

interface Wiring {
  settings: IngressSettings;
  ingress: Ingress;
  secrets: SecretSource;
  /** Bot identity and API, once per container (getMe). */
  bot(): Promise<{ identity: BotIdentity; api: BotApiLite }>;
}

/**
 * Builds the handler. Everything is made on the first request and kept for
 * the container's life: clients, the secrets cache, the bot's identity.
 */
export function createIngressHandler(options: IngressHandlerOptions = {}): IngressHandler {
  const powertools = options.logger ? undefined : lambdaLogger('telegram-ingress');
  const logger: Logger = options.logger ?? (powertools as LambdaLogger);
  const now = options.now ?? Date.now;
  let wiring: Wiring | undefined;

  const wire = (): Wiring => {
    if (wiring) return wiring;
    const settings = loadIngressSettings(options.env ?? process.env);
    const dynamo = options.dynamo ?? new DynamoDBClient({});
    const sqs = options.sqs ?? new SQSClient({});
    const secrets = options.secrets ?? new PowertoolsSecretSource();
    const sink = new StopFirstSink(
      new SqsJobSink({ client: sqs, queueUrl: settings.queueUrl }),
      new DynamoTurnControl({ client: dynamo, tableName: settings.tableName, logger }),
      logger,
    );
    const dedupe = new DynamoUpdateDedupe({ client: dynamo, tableName: settings.tableName, now });
    let bot: Promise<{ identity: BotIdentity; api: BotApiLite }> | undefined;
    wiring = {
      settings,
      secrets,
      ingress: new Ingress({ queue: sink, dedupe, logger }),
      bot() {
        bot ??= (async () => {
          const token = await secrets.get(settings.botTokenSecretArn);
          const api = botApiLite({ token, apiRoot: settings.telegramApiRoot });
          return { identity: await api.getMe(), api };
        })();
        // A failure is not cached: the next request tries again.
        bot.catch(() => {
          bot = undefined;
        });
        return bot;
      },
    };
    return wiring;
  };

  return async (event, context) => {
    if (context) powertools?.addContext(context);
    let w: Wiring;
    try {
      w = wire();
    } catch (error) {
      logger.error('ingress is misconfigured', { error: text(error) });
      return respond(500);
    }

    const given = header(event.headers, SECRET_HEADER);
    // Start fetching the bot's identity (once per container) while the secret is checked.
    const early = given === undefined ? undefined : w.bot();
    early?.catch(() => {});
    let expected: string;
    try {
      expected = await w.secrets.get(w.settings.webhookSecretArn);
    } catch (error) {
      logger.error('could not read the webhook secret', { error: text(error) });
      return respond(500);
    }
    if (given === undefined || !secretMatches(given, expected)) {
      logger.warn('rejected a request without the webhook secret', {
        sourceIp: event.requestContext?.http?.sourceIp,
        secretPresent: given !== undefined,
      });
      return respond(401);
    }

    const update = parseUpdate(event);
    if (!update) {
      logger.warn('rejected a body that is not a Telegram update');
      return respond(400);
    }

    let identity: BotIdentity;
    let api: BotApiLite;
    try {
      ({ identity, api } = await (early ?? w.bot()));
    } catch (error) {
      logger.error('could not get the bot identity (getMe)', { error: text(error) });
      return respond(500);
    }

    const normalized = normalizeUpdate(update, {
      bot: identity,
      tenant: w.settings.tenant,
      access: w.settings.access,
      now: now(),
    });
    if (normalized.action === 'ignore') {
      logger.info('update ignored', { updateId: update.update_id, reason: normalized.reason });
      await answerStaleButton(update, api, logger);
      return respond(200);
    }
    if (normalized.refused) logger.warn('refused a user not on the allowlist', normalized.refused);

    try {
      const result = await w.ingress.accept(normalized.message);
      logger.info(result === 'duplicate' ? 'duplicate update dropped' : 'update queued', {
        updateId: update.update_id,
        body: normalized.message.body.kind,
      });
      return respond(200);
    } catch (error) {
      // The dedupe claim was dropped (Ingress.accept); Telegram's retry gets through.
      logger.error('could not queue an update; Telegram will retry it', {
        updateId: update.update_id,
        error: text(error),
      });
      return respond(503);
    }
  };
}

/** Compares digests, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(given: string, expected: string): boolean {
  if (expected === '') return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function header(
  headers: APIGatewayProxyEventV2['headers'] | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  // HTTP APIs lower-case header names; other callers may not.
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function parseUpdate(event: APIGatewayProxyEventV2): z.infer<typeof updateEnvelope> | undefined {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = updateEnvelope.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

/**
 * A button on a message from an earlier version of the bot spins until
 * answered; answer it, as the local bot does. Best effort, and awaited: a
 * Lambda is frozen once it has answered.
 */
async function answerStaleButton(
  update: Record<string, unknown>,
  api: BotApiLite,
  logger: Logger,
): Promise<void> {
  const query = update.callback_query as { id?: unknown } | undefined;
  if (typeof query?.id !== 'string') return;
  try {
    await api.answerCallbackQuery(query.id, 'This button no longer does anything.');
  } catch (error) {
    logger.debug('answerCallbackQuery failed', { error: text(error) });
  }
}

function respond(statusCode: number): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'text/plain' }, body: '' };
}

function text(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The Lambda entry point (`handler` in the stack). */
export const handler: IngressHandler = createIngressHandler();
