import { splitTelegramHtml, TELEGRAM_MESSAGE_LIMIT } from './split-telegram-html.js';
import { escapeHtml, htmlToPlainText } from './telegram-html.js';

/**
 * Messages without markup, split to Telegram's limit. Apart from
 * format-reply.ts (the Markdown renderer) so that the ingress's lite channel
 * formats its texts the same way without bundling the renderer.
 */

/** One Telegram message of a reply, formatted, with its plain-text twin as a fallback. */
export interface TelegramMessagePart {
  /** Body for `parse_mode: 'HTML'`. */
  html: string;
  /** The same visible text without markup, sent if Telegram rejects the HTML. */
  text: string;
}

/**
 * A little under Telegram's hard limit: the margin absorbs any difference
 * between our count and the server's (it normalises some whitespace).
 */
export const DEFAULT_PART_LIMIT = TELEGRAM_MESSAGE_LIMIT - 96;

/** Plain text split the same way, for messages we compose ourselves without markup. */
export function formatPlain(text: string, limit = DEFAULT_PART_LIMIT): TelegramMessagePart[] {
  return splitTelegramHtml(escapeHtml(text), limit).map((piece) => ({
    html: piece,
    text: htmlToPlainText(piece),
  }));
}
