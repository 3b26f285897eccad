import { inlineFilePart } from '../../domain/outgoing-file.js';
import type { OutgoingPart } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import { texts } from '../../texts/en.js';
import { DEFAULT_PART_LIMIT, type TelegramMessagePart } from './format-plain.js';

/**
 * The most messages one answer becomes: about 16,000 characters (four of
 * Telegram's 4,096-character messages), more than any answer meant for chat.
 * A longer one goes as its first message and the whole of it as a file.
 */
export const MAX_ANSWER_PARTS = 4;

/**
 * The most of an answer its file (`answer.md`) holds; beyond it the file is
 * cut with a note. The file travels inside the reply outbox entry, which on
 * DynamoDB must stay under 400 KB compressed.
 */
export const MAX_ANSWER_FILE_CHARS = 200_000;

/** How long the messages of one answer may be, and how many. */
export interface AnswerLimits {
  /** Characters of one message (format-reply.ts's default when unset). */
  partLimit: number | undefined;
  /** Most messages one answer becomes (see MAX_ANSWER_PARTS). */
  maxParts: number;
  logger: Logger;
}

/**
 * An answer longer than `maxParts` messages becomes its first message and
 * then the whole answer as a file (`answer.md`, its Markdown as written;
 * `answer.txt` for our own plain texts): a long report is easier to read
 * and keep as a document than as a wall of messages, and a runaway answer
 * (an echo of a huge paste) never becomes a thousand of them.
 */
export function cappedParts(
  source: string,
  format: (head: string) => TelegramMessagePart[],
  fileName: string,
  limits: AnswerLimits,
): OutgoingPart[] {
  // Rendering megabytes to keep a few messages is wasted work: render a
  // generous head only (markup makes a part hold fewer source characters,
  // never more than twice as few).
  const headLimit = 2 * limits.maxParts * (limits.partLimit ?? DEFAULT_PART_LIMIT);
  const parts = format(source.length > headLimit ? source.slice(0, headLimit) : source);
  if (parts.length <= limits.maxParts) return parts.map(toOutgoing);
  const first = parts[0] as TelegramMessagePart;
  limits.logger.info('an answer too long for chat goes as a file', {
    chars: source.length,
    parts: parts.length,
  });
  return [
    toOutgoing(first),
    inlineFilePart(fileName, answerFileContent(source), texts.answerAsFile(source.length)),
  ];
}

/** An answer's file: all of it, or a runaway answer's first MAX_ANSWER_FILE_CHARS and a note. */
function answerFileContent(source: string): string {
  if (source.length <= MAX_ANSWER_FILE_CHARS) return source;
  // Never cut a surrogate pair in half.
  const end = /[\ud800-\udbff]/.test(source.charAt(MAX_ANSWER_FILE_CHARS - 1))
    ? MAX_ANSWER_FILE_CHARS - 1
    : MAX_ANSWER_FILE_CHARS;
  return `${source.slice(0, end)}\n\n${texts.answerFileCut(end, source.length)}\n`;
}

export function toOutgoing(part: TelegramMessagePart): OutgoingPart {
  return { html: part.html, text: part.text };
}

export function fromOutgoing(part: OutgoingPart): TelegramMessagePart {
  const { html, text } = part;
  if (typeof html !== 'string' || typeof text !== 'string') {
    throw new TypeError('not a Telegram message part (expected html and text)');
  }
  return { html, text };
}
