import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorMessage } from '../../domain/errors.js';
import type { Logger } from '../../ports/logger.js';
import type { UpdateIntake } from '../telegram/update-intake.js';
import {
  MAX_UPDATE_BYTES,
  parseUpdateBody,
  SECRET_HEADER,
  secretMatches,
  type UpdateEnvelope,
} from '../telegram/webhook-request.js';

/**
 * The HTTP edge of Telegram's webhook behind API Gateway (HTTP API): which
 * status a request gets. Checked in the order that costs least: the secret
 * (401), the size before the body is decoded (413), the envelope (400); then
 * the intake takes the update (200, or 503 when it could not be queued, so
 * Telegram retries). 500 when the secret or the bot's identity cannot be read.
 */

export interface ApiGatewayWebhookDeps {
  /** The secret Telegram sends in SECRET_HEADER. */
  secret(): Promise<string>;
  /** The intake; asked for as soon as a request carries a secret, so getMe overlaps the check. */
  intake(): Promise<Pick<UpdateIntake, 'take'>>;
  logger: Logger;
}

export async function answerWebhookEvent(
  event: APIGatewayProxyEventV2,
  deps: ApiGatewayWebhookDeps,
): Promise<APIGatewayProxyStructuredResultV2> {
  const { logger } = deps;
  const given = header(event.headers, SECRET_HEADER);
  // Start fetching the bot's identity (once per container) while the secret is checked.
  const early = given === undefined ? undefined : deps.intake();
  early?.catch(() => {});
  let expected: string;
  try {
    expected = await deps.secret();
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

  let intake: Pick<UpdateIntake, 'take'>;
  try {
    intake = await (early ?? deps.intake());
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
}

export function respond(statusCode: number): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'text/plain' }, body: '' };
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
