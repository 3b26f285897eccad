import { type Api, GrammyError } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import { inlineFilePart } from '../../domain/outgoing-file.js';
import type {
  AnswerDraftContent,
  Channel,
  DraftOutcome,
  OutgoingPart,
  QuestionMessage,
  SendOptions,
} from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { texts } from '../../texts/en.js';
import { type GrammySignal, grammySignal } from './bot-api-client.js';
import { downloadTelegramFile } from './file-download.js';
import { sendTelegramFile } from './file-upload.js';
import {
  DEFAULT_PART_LIMIT,
  formatPlain,
  formatReply,
  type TelegramMessagePart,
} from './format-reply.js';
import {
  isMethodMissing,
  isRichContentRejected,
  isRichPart,
  retryAfterMs,
  richParts,
} from './rich-messages.js';
import { sendParameters, threadOf } from './send-parameters.js';
import { closeQuestion, editQuestion, sendQuestion } from './telegram-questions.js';

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

/**
 * The Channel port on grammY's Bot API client. Parts are sent as HTML; if
 * Telegram refuses the markup ("can't parse entities"), the same part goes
 * out again as plain text, so an answer is never lost to a formatting slip.
 * Every call is bounded (bot-api-client.ts: timeout, a few retries of 429 and
 * 5xx); what still fails comes back to the worker's retries. The `signal`
 * given at construction (the process shutting down) aborts calls in flight,
 * so a send to an unreachable Telegram never holds up a shutdown.
 * Status messages (a long turn's progress) are plain text sent silently,
 * edited in place and deleted when the answer is ready. Answers are written
 * into placeholders by edits (`sendPlaceholder`, `editPart`), so a part
 * delivered again after a crash is never shown twice: sendMessage has no
 * idempotency key, editMessageText to the same text changes nothing.
 *
 * Answers in Markdown go as rich messages (rich-messages.ts) unless the Bot
 * API does not know them: an older self-hosted server answers 404, and from
 * then on this channel renders HTML as before. That is remembered here, in
 * memory, and that is enough: a process (or Lambda container) talks to one
 * Bot API server, so a new one pays for at most one failed call, and an
 * upgraded server is used fully after the next start. A rich message that
 * Telegram refuses for its content falls back to HTML for that part only.
 * A rich part is edited into a rich placeholder (editMessageText takes rich
 * content), so delivery stays exactly-once; the fallback's HTML goes into the
 * same placeholder. In private chats the answer is previewed as a draft while
 * it is written (`sendDraft`), a rich draft where rich messages work.
 */
export class TelegramChannel implements Channel {
  private readonly logger: Logger;
  private readonly partLimit: number | undefined;
  private readonly maxParts: number;
  private readonly signal: GrammySignal;
  /** Rich messages work here, as far as we know (see the class comment). */
  private rich: boolean;
  /** Drafts work here (sendMessageDraft), and rich drafts (sendRichMessageDraft). */
  private drafts: boolean;
  private richDrafts: boolean;

  constructor(
    private readonly api: Api,
    options: {
      logger?: Logger | undefined;
      partLimit?: number | undefined;
      /** Most messages one answer becomes (see MAX_ANSWER_PARTS). */
      maxParts?: number | undefined;
      /** Aborts every Bot API call in flight (shutdown). */
      signal?: AbortSignal | undefined;
      /** Send Markdown answers as rich messages (default); false: HTML only. */
      richMessages?: boolean | undefined;
      /** Preview answers as drafts in private chats (default). */
      drafts?: boolean | undefined;
    } = {},
  ) {
    this.rich = options.richMessages ?? true;
    this.drafts = options.drafts ?? true;
    this.richDrafts = this.rich;
    this.logger = options.logger ?? silentLogger;
    this.partLimit = options.partLimit;
    this.maxParts = Math.max(2, options.maxParts ?? MAX_ANSWER_PARTS);
    this.signal = grammySignal(options.signal);
  }

  formatMarkdown(markdown: string): OutgoingPart[] {
    const rich = this.rich ? richParts(markdown, this.maxParts) : undefined;
    if (rich) return rich;
    return this.capped(markdown, (head) => formatReply(head, this.partLimit), 'answer.md');
  }

  formatPlain(text: string): OutgoingPart[] {
    return this.capped(text, (head) => formatPlain(head, this.partLimit), 'answer.txt');
  }

  /**
   * An answer longer than `maxParts` messages becomes its first message and
   * then the whole answer as a file (`answer.md`, its Markdown as written;
   * `answer.txt` for our own plain texts): a long report is easier to read
   * and keep as a document than as a wall of messages, and a runaway answer
   * (an echo of a huge paste) never becomes a thousand of them.
   */
  private capped(
    source: string,
    format: (head: string) => TelegramMessagePart[],
    fileName: string,
  ): OutgoingPart[] {
    // Rendering megabytes to keep a few messages is wasted work: render a
    // generous head only (markup makes a part hold fewer source characters,
    // never more than twice as few).
    const headLimit = 2 * this.maxParts * (this.partLimit ?? DEFAULT_PART_LIMIT);
    const parts = format(source.length > headLimit ? source.slice(0, headLimit) : source);
    if (parts.length <= this.maxParts) return parts.map(toOutgoing);
    const first = parts[0] as TelegramMessagePart;
    this.logger.info('an answer too long for chat goes as a file', {
      chars: source.length,
      parts: parts.length,
    });
    return [
      toOutgoing(first),
      inlineFilePart(fileName, answerFileContent(source), texts.answerAsFile(source.length)),
    ];
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    if (isRichPart(part)) return this.sendRich(conversation, part, options);
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const common = sendParameters(conversation, options);
    try {
      await this.api.sendMessage(chatId, html, { ...common, parse_mode: 'HTML' }, this.signal);
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.logger.warn('Telegram refused the formatting; sending plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      await this.api.sendMessage(chatId, text, common, this.signal);
    }
  }

  /**
   * Sends the message a part is then edited into. Sent as HTML like the part
   * itself, with the notification (an edit notifies nobody), and as the reply
   * where the part would be one (an edit cannot add a reply).
   */
  async sendPlaceholder(conversation: ConversationRef, options: SendOptions = {}): Promise<string> {
    const rich = options.part && isRichPart(options.part) && this.rich;
    if (rich) {
      const id = await this.richPlaceholder(conversation, options);
      if (id !== undefined) return id;
    }
    const message = await this.api.sendMessage(
      conversation.chatId,
      escapeHtml(texts.answerPlaceholder),
      { ...sendParameters(conversation, options), parse_mode: 'HTML' },
      this.signal,
    );
    return String(message.message_id);
  }

  /**
   * Edits a part into a placeholder, as HTML with the same plain-text fallback
   * as `send`. Telegram's "message is not modified" means an earlier attempt
   * already wrote this part there: done.
   */
  async editPart(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing' | 'fallback'> {
    if (isRichPart(part)) return this.editRich(conversation, messageId, part);
    const { html, text } = fromOutgoing(part);
    const chatId = conversation.chatId;
    const edit = async (body: string, parseMode: 'HTML' | undefined) => {
      try {
        await this.api.editMessageText(
          chatId,
          Number(messageId),
          body,
          parseMode ? { parse_mode: parseMode } : {},
          this.signal,
        );
        return 'edited' as const;
      } catch (error) {
        if (isNotModified(error)) return 'edited' as const;
        if (error instanceof GrammyError && /message to edit not found/i.test(error.description))
          return 'missing' as const;
        throw error;
      }
    };
    try {
      return await edit(html, 'HTML');
    } catch (error) {
      if (!isEntityError(error)) throw error;
      this.logger.warn('Telegram refused the formatting; editing in plain text', {
        chatId,
        error: (error as GrammyError).description,
      });
      return edit(text, undefined);
    }
  }

  /**
   * A rich part as HTML messages, for a Bot API without rich messages or one
   * that refused the part; cut like any answer too long for chat.
   */
  fallbackParts(part: OutgoingPart): OutgoingPart[] {
    if (!isRichPart(part)) return [part];
    return this.capped(part.markdown, (head) => formatReply(head, this.partLimit), 'answer.md');
  }

  /**
   * A draft in a private chat, with a stop button (its press arrives as a
   * `stopped_message_generation` update, which the intake turns into /stop).
   * Rich where rich drafts work, else plain text. Flood control comes back as
   * a wait, not an error: the caller sends its next draft later.
   */
  async sendDraft(
    conversation: ConversationRef,
    draftId: number,
    content: AnswerDraftContent,
    signal?: AbortSignal | undefined,
  ): Promise<DraftOutcome> {
    const chatId = Number(conversation.chatId);
    // Drafts exist in private chats only, whose ids are the users' (positive).
    if (!this.drafts || !(chatId > 0)) return 'unavailable';
    const other = { ...threadOf(conversation), can_stop: true };
    const abort = grammySignal(anySignal(signal, this.signal as unknown as AbortSignal));
    try {
      if (this.richDrafts && content.markdown) {
        try {
          await this.api.sendRichMessageDraft(
            chatId,
            draftId,
            { markdown: content.markdown },
            other,
            abort,
          );
          return 'shown';
        } catch (error) {
          if (isMethodMissing(error)) this.richDrafts = false;
          else if (!isRichContentRejected(error)) throw error;
        }
      }
      await this.api.sendMessageDraft(chatId, draftId, content.plain, other, abort);
      return 'shown';
    } catch (error) {
      const wait = retryAfterMs(error);
      if (wait !== undefined) return { retryAfterMs: wait };
      if (isMethodMissing(error)) {
        this.logger.warn('the Bot API has no message drafts; answers are not previewed', {
          error: (error as GrammyError).description,
        });
        this.drafts = false;
        return 'unavailable';
      }
      throw error;
    }
  }

  /** Sends a rich part; if rich messages fail, the part's HTML rendering, message by message. */
  private async sendRich(
    conversation: ConversationRef,
    part: { markdown: string },
    options: SendOptions,
  ): Promise<void> {
    if (this.rich) {
      try {
        await this.api.sendRichMessage(
          conversation.chatId,
          { markdown: part.markdown },
          sendParameters(conversation, options),
          this.signal,
        );
        return;
      } catch (error) {
        if (!this.richFailed(error, conversation)) throw error;
      }
    }
    // No placeholders on this path, so no exactly-once to keep: every piece is sent.
    for (const [index, piece] of formatReply(part.markdown, this.partLimit).entries()) {
      await this.send(conversation, toOutgoing(piece), index === 0 ? options : {});
    }
  }

  /** A rich placeholder ("…"), or undefined when the Bot API has no rich messages. */
  private async richPlaceholder(
    conversation: ConversationRef,
    options: SendOptions,
  ): Promise<string | undefined> {
    try {
      const message = await this.api.sendRichMessage(
        conversation.chatId,
        { markdown: texts.answerPlaceholder },
        sendParameters(conversation, options),
        this.signal,
      );
      return String(message.message_id);
    } catch (error) {
      if (isMethodMissing(error)) {
        this.richFailed(error, conversation);
        return undefined;
      }
      throw error;
    }
  }

  /** Edits a rich part into its placeholder; `fallback` if rich messages do not work for it. */
  private async editRich(
    conversation: ConversationRef,
    messageId: string,
    part: { markdown: string },
  ): Promise<'edited' | 'missing' | 'fallback'> {
    if (!this.rich) return 'fallback';
    try {
      await this.api.editMessageText(
        conversation.chatId,
        Number(messageId),
        { markdown: part.markdown },
        {},
        this.signal,
      );
      return 'edited';
    } catch (error) {
      if (isNotModified(error)) return 'edited';
      if (error instanceof GrammyError && /message to edit not found/i.test(error.description))
        return 'missing';
      if (this.richFailed(error, conversation)) return 'fallback';
      throw error;
    }
  }

  /**
   * True when a rich call failed in a way HTML can do better: the method is
   * unknown (remembered: no rich messages from now on) or the content was
   * refused (this part only).
   */
  private richFailed(error: unknown, conversation: ConversationRef): boolean {
    const description = error instanceof GrammyError ? error.description : String(error);
    if (isMethodMissing(error)) {
      this.logger.warn('the Bot API has no rich messages; answers go as HTML from now on', {
        error: description,
      });
      this.rich = false;
      return true;
    }
    if (isRichContentRejected(error)) {
      this.logger.warn('Telegram refused a rich message; sending it as HTML', {
        chatId: conversation.chatId,
        error: description,
      });
      return true;
    }
    return false;
  }

  async showTyping(conversation: ConversationRef): Promise<void> {
    await this.api.sendChatAction(
      conversation.chatId,
      'typing',
      threadOf(conversation),
      this.signal,
    );
  }

  // Status messages are plain text (no parse mode, so no formatting errors) and silent.

  async sendStatus(conversation: ConversationRef, text: string): Promise<string> {
    const message = await this.api.sendMessage(
      conversation.chatId,
      text,
      { ...threadOf(conversation), disable_notification: true },
      this.signal,
    );
    return String(message.message_id);
  }

  async editStatus(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    try {
      await this.api.editMessageText(
        conversation.chatId,
        Number(messageId),
        text,
        undefined,
        this.signal,
      );
    } catch (error) {
      // Already says this: nothing to do.
      if (isNotModified(error)) return;
      throw error;
    }
  }

  async deleteStatus(conversation: ConversationRef, messageId: string): Promise<void> {
    await this.api.deleteMessage(conversation.chatId, Number(messageId), this.signal);
  }

  /** A person's file, through the same Bot API server (see file-download.ts). */
  downloadFile(
    fileId: string,
    destination: string,
    options: { maxBytes: number; signal?: AbortSignal | undefined },
  ): Promise<{ bytes: number }> {
    return downloadTelegramFile(this.api, fileId, destination, {
      maxBytes: options.maxBytes,
      // Shutdown aborts a download too; the turn's own signal, when given, as well.
      signal: options.signal ?? (this.signal as unknown as AbortSignal | undefined),
    });
  }

  /** A file part: a staged file or an answer as a document (file-upload.ts). */
  async sendFile(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    await sendTelegramFile(
      this.api,
      { chatId: conversation.chatId, params: sendParameters(conversation, options) },
      part,
      { signal: this.signal, logger: this.logger },
    );
  }

  // Questions with buttons (telegram-questions.ts).

  sendQuestion(conversation: ConversationRef, question: QuestionMessage): Promise<string> {
    return sendQuestion(this.api, conversation, question, this.signal);
  }

  editQuestion(
    conversation: ConversationRef,
    messageId: string,
    question: QuestionMessage,
  ): Promise<void> {
    return editQuestion(this.api, conversation, messageId, question, this.signal);
  }

  closeQuestion(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    return closeQuestion(this.api, conversation, messageId, text, this.signal);
  }

  isPermanentFailure(error: unknown): boolean {
    if (!(error instanceof GrammyError)) return false;
    // Blocked by the user, kicked from the group, chat deleted.
    if (error.error_code === 403) return true;
    return (
      error.error_code === 400 &&
      /chat not found|thread not found|topic_closed|topic_deleted|not enough rights|have no rights|user is deactivated/i.test(
        error.description,
      )
    );
  }
}

function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && /message is not modified/i.test(error.description);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isEntityError(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /can't parse entities|can't find end|unsupported start tag|entity/i.test(error.description)
  );
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

function toOutgoing(part: TelegramMessagePart): OutgoingPart {
  return { html: part.html, text: part.text };
}

function fromOutgoing(part: OutgoingPart): TelegramMessagePart {
  const { html, text } = part;
  if (typeof html !== 'string' || typeof text !== 'string') {
    throw new TypeError('not a Telegram message part (expected html and text)');
  }
  return { html, text };
}

/** Aborted when either signal is (AbortSignal.any, present on Node 20 and 22). */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}
