import type { Api } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type {
  AnswerDraftContent,
  Channel,
  DraftOutcome,
  OutgoingPart,
  QuestionMessage,
  SendOptions,
} from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { AnswerDelivery } from './answer-delivery.js';
import { AnswerDrafts } from './answer-drafts.js';
import { type AnswerLimits, cappedParts, MAX_ANSWER_PARTS } from './answer-parts.js';
import { type GrammySignal, grammySignal } from './bot-api-client.js';
import { downloadTelegramFile } from './file-download.js';
import { sendTelegramFile } from './file-upload.js';
import { formatPlain } from './format-plain.js';
import { formatReply } from './format-reply.js';
import { isRichPart, richParts } from './rich-messages.js';
import { sendParameters } from './send-parameters.js';
import { deleteStatus, editStatus, sendStatus, showTyping } from './status-messages.js';
import { isPermanentFailure } from './telegram-errors.js';
import { closeQuestion, editQuestion, sendQuestion } from './telegram-questions.js';

export { MAX_ANSWER_FILE_CHARS, MAX_ANSWER_PARTS } from './answer-parts.js';

/**
 * The Channel port on grammY's Bot API client, put together from one file
 * per concern: answers as parts (answer-parts.ts: formatting, the cut of a
 * long answer into a file), their delivery by placeholder and edit with the
 * rich/HTML fallback (answer-delivery.ts), drafts (answer-drafts.ts), status
 * messages (status-messages.ts), files (file-upload.ts, file-download.ts) and
 * questions with buttons (telegram-questions.ts).
 * Every call is bounded (bot-api-client.ts: timeout, a few retries of 429 and
 * 5xx); what still fails comes back to the worker's retries. The `signal`
 * given at construction (the process shutting down) aborts calls in flight,
 * so a send to an unreachable Telegram never holds up a shutdown.
 */
export class TelegramChannel implements Channel {
  private readonly logger: Logger;
  private readonly limits: AnswerLimits;
  private readonly signal: GrammySignal;
  private readonly delivery: AnswerDelivery;
  private readonly drafts: AnswerDrafts;

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
    const rich = options.richMessages ?? true;
    this.logger = options.logger ?? silentLogger;
    this.signal = grammySignal(options.signal);
    this.limits = {
      partLimit: options.partLimit,
      maxParts: Math.max(2, options.maxParts ?? MAX_ANSWER_PARTS),
      logger: this.logger,
    };
    const common = { logger: this.logger, signal: this.signal };
    this.delivery = new AnswerDelivery(api, {
      ...common,
      partLimit: options.partLimit,
      richMessages: rich,
    });
    this.drafts = new AnswerDrafts(api, {
      ...common,
      drafts: options.drafts ?? true,
      richDrafts: rich,
    });
  }

  formatMarkdown(markdown: string): OutgoingPart[] {
    const rich = this.delivery.richMessages ? richParts(markdown, this.limits.maxParts) : undefined;
    if (rich) return rich;
    return this.markdownParts(markdown);
  }

  formatPlain(text: string): OutgoingPart[] {
    return cappedParts(
      text,
      (head) => formatPlain(head, this.limits.partLimit),
      'answer.txt',
      this.limits,
    );
  }

  /**
   * A rich part as HTML messages, for a Bot API without rich messages or one
   * that refused the part; cut like any answer too long for chat.
   */
  fallbackParts(part: OutgoingPart): OutgoingPart[] {
    if (!isRichPart(part)) return [part];
    return this.markdownParts(part.markdown);
  }

  private markdownParts(markdown: string): OutgoingPart[] {
    return cappedParts(
      markdown,
      (head) => formatReply(head, this.limits.partLimit),
      'answer.md',
      this.limits,
    );
  }

  // Answers, by placeholder and edit (answer-delivery.ts).

  send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options: SendOptions = {},
  ): Promise<void> {
    return this.delivery.send(conversation, part, options);
  }

  sendPlaceholder(conversation: ConversationRef, options: SendOptions = {}): Promise<string> {
    return this.delivery.sendPlaceholder(conversation, options);
  }

  editPart(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing' | 'fallback'> {
    return this.delivery.editPart(conversation, messageId, part);
  }

  sendDraft(
    conversation: ConversationRef,
    draftId: number,
    content: AnswerDraftContent,
    signal?: AbortSignal | undefined,
  ): Promise<DraftOutcome> {
    return this.drafts.send(conversation, draftId, content, signal);
  }

  // Progress (status-messages.ts).

  showTyping(conversation: ConversationRef): Promise<void> {
    return showTyping(this.api, conversation, this.signal);
  }

  sendStatus(conversation: ConversationRef, text: string): Promise<string> {
    return sendStatus(this.api, conversation, text, this.signal);
  }

  editStatus(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    return editStatus(this.api, conversation, messageId, text, this.signal);
  }

  deleteStatus(conversation: ConversationRef, messageId: string): Promise<void> {
    return deleteStatus(this.api, conversation, messageId, this.signal);
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
    return isPermanentFailure(error);
  }
}
