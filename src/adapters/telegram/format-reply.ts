import { DEFAULT_PART_LIMIT, type TelegramMessagePart } from './format-plain.js';
import { markdownToTelegramHtml } from './markdown-to-telegram-html.js';
import { splitTelegramHtml } from './split-telegram-html.js';
import { htmlToPlainText } from './telegram-html.js';

/** Render the agent's Markdown and split it into messages that each fit Telegram's limit. */
export function formatReply(markdown: string, limit = DEFAULT_PART_LIMIT): TelegramMessagePart[] {
  const html = markdownToTelegramHtml(markdown);
  return splitTelegramHtml(html, limit).map((piece) => ({
    html: piece,
    text: htmlToPlainText(piece),
  }));
}
