import { GrammyError } from 'grammy';
import type { OutgoingPart } from '../../ports/channel.js';
import { splitRichMarkdown } from './split-rich-markdown.js';
import { isEditTargetMissing, isNotModified, isPermanentFailure } from './telegram-errors.js';

/**
 * Telegram rich messages (`sendRichMessage`): the agent's Markdown as written,
 * rendered by Telegram itself (headings, lists, tables, code, quotes,
 * formulas) and up to 32,768 characters a message. A rich part in the reply
 * outbox is `{ markdown }`; it carries no HTML twin, since the HTML of one
 * rich part may need several messages: the channel renders it only if it has
 * to fall back (see TelegramChannel.fallbackParts).
 */

function richPart(markdown: string): OutgoingPart {
  return { markdown };
}

export function isRichPart(part: OutgoingPart): part is { markdown: string } {
  return typeof part.markdown === 'string' && part.kind === undefined;
}

/**
 * The answer as rich parts, split on block boundaries; undefined when it
 * would take more than `maxParts` messages even so (the channel's cut for
 * very long answers then applies, as to any answer).
 */
export function richParts(markdown: string, maxParts: number): OutgoingPart[] | undefined {
  const pieces = splitRichMarkdown(markdown);
  if (pieces.length === 0 || pieces.length > maxParts) return undefined;
  return pieces.map(richPart);
}

/** The Bot API does not know the method: an older (self-hosted) server. */
export function isMethodMissing(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    (error.error_code === 404 || /method not found|unknown method/i.test(error.description))
  );
}

/**
 * Telegram refused the rich content itself (Markdown it cannot parse, too
 * many blocks, too long): the same text may still go out another way. Errors
 * about the chat or the message are not this: they fail any rendering alike.
 */
export function isRichContentRejected(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    !isEditTargetMissing(error) &&
    !isNotModified(error) &&
    !isPermanentFailure(error)
  );
}

/** Flood control: how long Telegram asks to wait, or undefined for another error. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof GrammyError) || error.error_code !== 429) return undefined;
  return Math.max(1, error.parameters.retry_after ?? 1) * 1_000;
}
