import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * The HTTP edge of a Telegram webhook, shared by the local webhook server and
 * the ingress Lambda: the secret header, the size bound, the envelope.
 */

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

/**
 * The largest webhook body taken. Telegram's updates are a few KB (a message
 * is at most 4,096 characters, a caption 1,024, plus entities); anything near
 * this is not from Telegram, and is refused with 413 before it is parsed.
 */
export const MAX_UPDATE_BYTES = 1024 * 1024;

/** The envelope every Telegram update has; anything without it is not from Telegram. */
const updateEnvelope = z.looseObject({ update_id: z.number().int().nonnegative() });
export type UpdateEnvelope = z.infer<typeof updateEnvelope>;

/** Compares digests, so neither the content nor the length of the secret leaks through timing. */
export function secretMatches(given: string, expected: string): boolean {
  if (expected === '') return false;
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

/** The update in a webhook body, or undefined for anything else (not JSON, `null`, no update_id). */
export function parseUpdateBody(raw: string): UpdateEnvelope | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const parsed = updateEnvelope.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
