/**
 * The ingress Lambda: Telegram's webhook behind API Gateway (HTTP API).
 *
 *   verify the secret header (constant time) -> parse the update -> the
 *   Telegram adapter's UpdateIntake (normalise, access policy, stale buttons)
 *   -> drop a repeated update_id (DynamoDB) -> SQS FIFO, one group per
 *   conversation lane -> 200
 *
 * 200 once the message is durably queued, and for updates the bot does not
 * handle (Telegram would otherwise redeliver them for a day); 400 for a body
 * that is not an update at all (`null` included); 401 without the right
 * secret; 413 for a body over MAX_UPDATE_BYTES, refused before it is decoded
 * or parsed; 5xx when
 * DynamoDB or SQS cannot take the update, so Telegram retries it (the dedupe
 * claim is dropped first), and 503 while an earlier delivery's claim on the
 * same update is not committed (in flight, or left by a failed enqueue whose
 * claim could not be dropped) until it commits or lapses. `/stop` reaches a running turn from here
 * (StopFirstSink), without queueing behind it. Control messages (`/status`,
 * help, refusals, unsupported kinds, a `/stop` with nothing running) are
 * answered from here (ControlAnswerSink), exactly once through the reply
 * outbox, so they neither start the agent's container nor wait for a free
 * worker; only if Telegram cannot take the answer now do they go on the
 * control lane for a worker to finish. A refused stranger is answered
 * once an hour at most (DynamoRefusalLimiter), however often they write.
 *
 * Small on purpose: no Agent SDK and no grammY in this module's import graph
 * (the Bot API calls go through BotApiLite). This file holds the HTTP edge
 * (secret, body, status codes) and the wiring; what an update means is decided
 * in the UpdateIntake, the same one the local bot uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { DynamoAlbumGate } from '../../adapters/aws/dynamo-album-gate.js';
import { DynamoConversationIndex } from '../../adapters/aws/dynamo-conversation-index.js';
import { DynamoQuestionStore } from '../../adapters/aws/dynamo-question-store.js';
import { DynamoRefusalLimiter } from '../../adapters/aws/dynamo-refusal-limiter.js';
import { DynamoReplyOutbox } from '../../adapters/aws/dynamo-reply-outbox.js';
import { DynamoTurnControl } from '../../adapters/aws/dynamo-turn-control.js';
import { DynamoUpdateDedupe } from '../../adapters/aws/dynamo-update-dedupe.js';
import { PowertoolsSecretSource } from '../../adapters/aws/secret-source.js';
import { SqsJobSink } from '../../adapters/aws/sqs-job-sink.js';
import { botApiLite } from '../../adapters/telegram/bot-api-lite.js';
import { LiteTelegramChannel } from '../../adapters/telegram/lite-channel.js';
import { UpdateIntake } from '../../adapters/telegram/update-intake.js';
import {
  MAX_UPDATE_BYTES,
  parseUpdateBody,
  SECRET_HEADER,
  secretMatches,
  type UpdateEnvelope,
} from '../../adapters/telegram/webhook-request.js';
import type { Env } from '../../config/env-values.js';
import { AnswerFirstSink } from '../../core/pipeline/answer-first-sink.js';
import { ControlAnswerSink } from '../../core/pipeline/control-answer-sink.js';
import { ConversationWorker } from '../../core/pipeline/conversation-worker.js';
import { Ingress } from '../../core/pipeline/ingress.js';
import { StopFirstSink } from '../../core/pipeline/stop-first-sink.js';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { type IngressSettings, loadIngressSettings } from './handler-settings.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';

export { SECRET_HEADER, secretMatches };

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

/**
 * The ingress's AWS calls are time-boxed so a slow DynamoDB or SQS ends in a
 * 503 (Telegram retries) well inside the function's timeout (10 s by
 * default), never in a Lambda timeout that leaves a claim half-made: at most
 * two tries of 3.5 s each per call.
 */
const TIME_BOXED = {
  maxAttempts: 2,
  requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_500 },
} as const;

export type IngressHandler = (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

interface Wiring {
  settings: IngressSettings;
  secrets: SecretSource;
  /** The intake, once per container: it needs the bot token and identity (getMe). */
  intake(): Promise<UpdateIntake>;
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
    const dynamo = options.dynamo ?? new DynamoDBClient(TIME_BOXED);
    const sqs = options.sqs ?? new SQSClient(TIME_BOXED);
    const secrets = options.secrets ?? new PowertoolsSecretSource();
    const { tableName } = settings;
    const turns = new DynamoTurnControl({ client: dynamo, tableName, logger });
    // Control messages are answered here (ControlAnswerSink), not by the agent's container.
    const controlWorker = new ConversationWorker({
      runner: noTurns,
      channel: new LiteTelegramChannel({
        async call(method, params) {
          const token = await secrets.get(settings.botTokenSecretArn);
          // Shorter than the intake's calls: a slow answer falls back to the queue in time.
          const api = botApiLite({ token, apiRoot: settings.telegramApiRoot, timeoutMs: 2_500 });
          return api.call(method, params);
        },
      }),
      outbox: new DynamoReplyOutbox({ client: dynamo, tableName }),
      conversations: new DynamoConversationIndex({ client: dynamo, tableName }),
      turns,
      // Never 1: a failed answer is retried by a worker, never given up here.
      maxAttempts: 2,
      progress: false,
      logger,
      now,
    });
    const sink = new StopFirstSink(
      new ControlAnswerSink(
        new SqsJobSink({ client: sqs, queueUrl: settings.queueUrl }),
        controlWorker,
        logger,
      ),
      turns,
      logger,
    );
    const dedupe = new DynamoUpdateDedupe({ client: dynamo, tableName: settings.tableName, now });
    // A typed answer to a waiting question (and a button's press, in the intake) goes to the running turn.
    const questions = new DynamoQuestionStore({ client: dynamo, tableName, now });
    const ingress = new Ingress({
      queue: new AnswerFirstSink(sink, questions, logger),
      dedupe,
      logger,
    });
    const refusals = new DynamoRefusalLimiter({
      client: dynamo,
      tableName: settings.tableName,
      now,
    });
    let intake: Promise<UpdateIntake> | undefined;
    wiring = {
      settings,
      secrets,
      intake() {
        intake ??= (async () => {
          const token = await secrets.get(settings.botTokenSecretArn);
          const api = botApiLite({ token, apiRoot: settings.telegramApiRoot });
          const identity = await api.getMe();
          return new UpdateIntake({
            tenant: settings.tenant,
            access: settings.access,
            ingress,
            api,
            identity: () => identity,
            logger,
            now,
            refusals,
            questions,
            // An album's items may reach other instances: remembered in the table.
            albums: new DynamoAlbumGate({ client: dynamo, tableName, now }),
          });
        })();
        // A failure is not cached: the next request tries again.
        intake.catch(() => {
          intake = undefined;
        });
        return intake;
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
      logger.error('ingress is misconfigured', { error: errorMessage(error) });
      return respond(500);
    }

    const given = header(event.headers, SECRET_HEADER);
    // Start fetching the bot's identity (once per container) while the secret is checked.
    const early = given === undefined ? undefined : w.intake();
    early?.catch(() => {});
    let expected: string;
    try {
      expected = await w.secrets.get(w.settings.webhookSecretArn);
    } catch (error) {
      logger.error('could not read the webhook secret', { error: errorMessage(error) });
      return respond(500);
    }
    if (given === undefined || !secretMatches(given, expected)) {
      logger.warn('rejected a request without the webhook secret', {
        sourceIp: event.requestContext?.http?.sourceIp,
        secretPresent: given !== undefined,
      });
      return respond(401);
    }

    if (bodyBytes(event) > MAX_UPDATE_BYTES) {
      logger.warn('rejected a body over the size limit', { limitBytes: MAX_UPDATE_BYTES });
      return respond(413);
    }
    const update = parseUpdate(event);
    if (!update) {
      logger.warn('rejected a body that is not a Telegram update');
      return respond(400);
    }

    let intake: UpdateIntake;
    try {
      intake = await (early ?? w.intake());
    } catch (error) {
      logger.error('could not get the bot identity (getMe)', { error: errorMessage(error) });
      return respond(500);
    }

    try {
      const outcome = await intake.take(update);
      if (outcome.action === 'ignored') {
        logger.info('update ignored', { updateId: update.update_id, reason: outcome.reason });
      } else {
        logger.info(outcome.action === 'duplicate' ? 'duplicate update dropped' : 'update queued', {
          updateId: update.update_id,
          body: outcome.message.body.kind,
        });
      }
      return respond(200);
    } catch (error) {
      // The dedupe claim was dropped (Ingress.accept); Telegram's retry gets through.
      logger.error('could not queue an update; Telegram will retry it', {
        updateId: update.update_id,
        error: errorMessage(error),
      });
      return respond(503);
    }
  };
}

/** Never called: the ingress answers control messages only, which run no turn. */
const noTurns: TurnRunner = {
  runTurn: () => Promise.reject(new Error('the ingress runs no turns')),
  resetConversation: () => Promise.reject(new Error('the ingress runs no turns')),
};

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

/** The body's size in bytes, without decoding it (base64: 3 bytes per 4 characters). */
function bodyBytes(event: APIGatewayProxyEventV2): number {
  const body = event.body ?? '';
  return event.isBase64Encoded
    ? Math.floor((body.length * 3) / 4)
    : Buffer.byteLength(body, 'utf8');
}

function parseUpdate(event: APIGatewayProxyEventV2): UpdateEnvelope | undefined {
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64').toString('utf8')
    : (event.body ?? '');
  return parseUpdateBody(raw);
}

function respond(statusCode: number): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'text/plain' }, body: '' };
}

/** The Lambda entry point (`handler` in the stack). */
export const handler: IngressHandler = createIngressHandler();
