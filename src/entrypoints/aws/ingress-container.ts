import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
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
import type { Env } from '../../config/env-values.js';
import { AnswerFirstSink } from '../../core/pipeline/answer-first-sink.js';
import { ControlAnswerSink } from '../../core/pipeline/control-answer-sink.js';
import { ConversationWorker } from '../../core/pipeline/conversation-worker.js';
import { Ingress } from '../../core/pipeline/ingress.js';
import { StopFirstSink } from '../../core/pipeline/stop-first-sink.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { type IngressSettings, loadIngressSettings } from './handler-settings.js';

/**
 * What the ingress Lambda makes once per container, on its first request:
 * settings, AWS clients, the secrets cache, the sink chain an accepted
 * update goes down, and (lazily, since it needs the bot token and getMe)
 * the UpdateIntake. Per-request handling is in ingress-handler.ts.
 *
 * The sink chain, outermost first: a typed answer to a waiting question goes
 * to the running turn (AnswerFirstSink); `/stop` reaches a running turn
 * (StopFirstSink); control messages are answered here (ControlAnswerSink,
 * through a ConversationWorker that runs no turns); the rest goes to SQS.
 */

export interface IngressContainerOptions {
  /** Default: process.env. */
  env?: Env;
  /** Default: Secrets Manager through Powertools Parameters. */
  secrets?: SecretSource;
  dynamo?: DynamoDBClient;
  sqs?: SQSClient;
  now?: () => number;
}

export interface IngressContainer {
  settings: IngressSettings;
  secrets: SecretSource;
  /** The intake, once per container: it needs the bot token and identity (getMe). */
  intake(): Promise<UpdateIntake>;
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

/** Throws when the settings are missing or wrong (the handler answers 500). */
export function composeIngressContainer(
  options: IngressContainerOptions,
  logger: Logger,
): IngressContainer {
  const now = options.now ?? Date.now;
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
  // A typed answer to a waiting question (and a button's press, in the intake) goes to the running turn.
  const questions = new DynamoQuestionStore({ client: dynamo, tableName, now });
  const ingress = new Ingress({
    queue: new AnswerFirstSink(sink, questions, logger),
    dedupe: new DynamoUpdateDedupe({ client: dynamo, tableName, now }),
    logger,
  });
  const refusals = new DynamoRefusalLimiter({ client: dynamo, tableName, now });

  let intake: Promise<UpdateIntake> | undefined;
  return {
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
}

/** Never called: the ingress answers control messages only, which run no turn. */
const noTurns: TurnRunner = {
  runTurn: () => Promise.reject(new Error('the ingress runs no turns')),
  resetConversation: () => Promise.reject(new Error('the ingress runs no turns')),
};
