/**
 * The dead-letter consumer Lambda: fed by the job queue's dead-letter queue.
 * For each dead letter it makes sure the person heard about it once and
 * parks the message for an operator (inspection, redrive); the semantics are
 * in SqsDeadLetterProcessor (src/adapters/aws/sqs-dead-letter-processor.ts).
 * Composition only: settings, clients, the reply outbox and Telegram, and a
 * ConversationWorker that only ever gives up (it is called past its last
 * attempt, so it never starts a turn: no agent runtime here).
 *
 * Why not leave the messages in the dead-letter queue: an event source
 * removes what its function accepted, and a redrive needs the message. So
 * they move on to the parked queue, which is the redrive source
 * (infra/README.md, Operations).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoConversationIndex } from '../../adapters/aws/dynamo-conversation-index.js';
import { DynamoJobAttempts } from '../../adapters/aws/dynamo-job-attempts.js';
import { DynamoReplyOutbox } from '../../adapters/aws/dynamo-reply-outbox.js';
import { PowertoolsSecretSource } from '../../adapters/aws/secret-source.js';
import {
  SqsDeadLetterPark,
  SqsDeadLetterProcessor,
} from '../../adapters/aws/sqs-dead-letter-processor.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { createBotApi } from '../../adapters/telegram/bot-api-client.js';
import { TelegramChannel } from '../../adapters/telegram/telegram-channel.js';
import type { Env } from '../../config/env-values.js';
import { ConversationWorker, type WorkerTexts } from '../../core/pipeline/conversation-worker.js';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import type { SecretSource } from '../../ports/secret-source.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { loadDeadLetterSettings } from './handler-settings.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';

export interface DeadLetterHandlerOptions {
  /** Default: process.env. */
  env?: Env;
  /** Default: Secrets Manager through Powertools Parameters. */
  secrets?: SecretSource;
  dynamo?: DynamoDBClient;
  sqs?: SQSClient;
  /** Default: Powertools Logger (JSON lines, Lambda context attached). */
  logger?: Logger;
  texts?: Partial<WorkerTexts>;
}

export type DeadLetterHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Never called: the notifier is always past its last attempt. */
const noTurns: TurnRunner = {
  runTurn: () => Promise.reject(new Error('the dead-letter consumer runs no turns')),
  resetConversation: () => Promise.reject(new Error('the dead-letter consumer runs no turns')),
};

export function createDeadLetterHandler(options: DeadLetterHandlerOptions = {}): DeadLetterHandler {
  const powertools = options.logger ? undefined : lambdaLogger('dead-letters');
  const logger: Logger = options.logger ?? (powertools as LambdaLogger);
  let wired: Promise<SqsDeadLetterProcessor> | undefined;

  const wire = async (): Promise<SqsDeadLetterProcessor> => {
    const settings = loadDeadLetterSettings(options.env ?? process.env);
    const { tableName } = settings;
    const dynamo = options.dynamo ?? new DynamoDBClient({});
    const sqs = options.sqs ?? new SQSClient({});
    const secrets = options.secrets ?? new PowertoolsSecretSource();
    const token = await secrets.get(settings.botTokenSecretArn);
    const notifier = new ConversationWorker({
      runner: noTurns,
      channel: new TelegramChannel(createBotApi(token, settings.telegramApiRoot), { logger }),
      outbox: new DynamoReplyOutbox({ client: dynamo, tableName }),
      conversations: new DynamoConversationIndex({ client: dynamo, tableName }),
      turns: new InMemoryTurnControl(),
      maxAttempts: 1,
      texts: options.texts,
      progress: false,
      logger,
    });
    return new SqsDeadLetterProcessor({
      notifier,
      givenUpAttempt: 2,
      attempts: new DynamoJobAttempts({ client: dynamo, tableName }),
      park: new SqsDeadLetterPark({ client: sqs, queueUrl: settings.parkedQueueUrl }),
      logger,
    });
  };

  return async (event, context) => {
    if (context) powertools?.addContext(context);
    wired ??= wire();
    let processor: SqsDeadLetterProcessor;
    try {
      processor = await wired;
    } catch (error) {
      // Not kept: the next invocation tries again; the batch comes back meanwhile.
      wired = undefined;
      logger.error('the dead-letter consumer could not start', { error: errorMessage(error) });
      throw error;
    }
    return processor.process(event.Records, context);
  };
}

/** The Lambda entry point (`dead-letter-handler.handler` in the image). */
export const handler: DeadLetterHandler = createDeadLetterHandler();
