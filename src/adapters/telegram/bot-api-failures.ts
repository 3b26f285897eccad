/**
 * What Telegram's error answers mean, read from their code and description.
 * Written once for both clients: grammY's (telegram-errors.ts) and the
 * ingress's plain `fetch` one (lite-channel.ts), which must not import grammY.
 */

/** "Message is not modified": the message already says this, so the edit is done. */
export const NOT_MODIFIED = /message is not modified/i;

/** The message to edit is gone (the person deleted it, say). */
export const EDIT_TARGET_MISSING = /message to edit not found/i;

/** With 400: Telegram refused the HTML markup; the same text can still go as plain text. */
export const ENTITY_REFUSED = /can't parse entities|can't find end|unsupported start tag|entity/i;

/** With 400: the chat cannot be written to any more. */
const CHAT_GONE =
  /chat not found|thread not found|topic_closed|topic_deleted|not enough rights|have no rights|user is deactivated/i;

/** A failure no retry mends: blocked by the user, kicked from the group, chat deleted. */
export function isPermanent(code: number | undefined, description: string): boolean {
  return code === 403 || (code === 400 && CHAT_GONE.test(description));
}
