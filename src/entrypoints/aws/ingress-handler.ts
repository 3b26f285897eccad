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
 * (the Bot API calls go through BotApiLite). Composition only:
 *
 * - once per container (ingress-container.ts): settings, clients, the sink
 *   chain and the UpdateIntake, the same one the local bot uses, which
 *   decides what an update means;
 * - per request (src/adapters/aws/api-gateway-webhook.ts): the HTTP edge,
 *   i.e. the secret, the body and the status codes.
 */
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { answerWebhookEvent, respond } from '../../adapters/aws/api-gateway-webhook.js';
import { SECRET_HEADER, secretMatches } from '../../adapters/telegram/webhook-request.js';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import {
  composeIngressContainer,
  type IngressContainer,
  type IngressContainerOptions,
} from './ingress-container.js';
import { type LambdaLogger, lambdaLogger } from './lambda-logger.js';

export { SECRET_HEADER, secretMatches };

export interface IngressHandlerOptions extends IngressContainerOptions {
  /** Default: Powertools Logger (JSON lines, Lambda context attached). */
  logger?: Logger;
}

export type IngressHandler = (
  event: APIGatewayProxyEventV2,
  context?: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Builds the handler. Everything is made on the first request and kept for
 * the container's life: clients, the secrets cache, the bot's identity.
 */
export function createIngressHandler(options: IngressHandlerOptions = {}): IngressHandler {
  const powertools = options.logger ? undefined : lambdaLogger('telegram-ingress');
  const logger: Logger = options.logger ?? (powertools as LambdaLogger);
  let container: IngressContainer | undefined;

  return async (event, context) => {
    if (context) powertools?.addContext(context);
    let c: IngressContainer;
    try {
      container ??= composeIngressContainer(options, logger);
      c = container;
    } catch (error) {
      logger.error('ingress is misconfigured', { error: errorMessage(error) });
      return respond(500);
    }
    return answerWebhookEvent(event, {
      secret: () => c.secrets.get(c.settings.webhookSecretArn),
      intake: () => c.intake(),
      logger,
    });
  };
}

/** The Lambda entry point (`handler` in the stack). */
export const handler: IngressHandler = createIngressHandler();
