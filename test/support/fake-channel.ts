import type { ConversationRef } from '../../src/domain/conversation.js';
import { conversationId } from '../../src/domain/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../src/ports/channel.js';

export interface SentPart {
  conversationId: string;
  text: string;
  replyTo: string | undefined;
}

/** One call to the status-message methods. */
export type StatusCall =
  | { action: 'send'; conversationId: string; messageId: string; text: string }
  | { action: 'edit'; conversationId: string; messageId: string; text: string }
  | { action: 'delete'; conversationId: string; messageId: string };

export class PermanentTestError extends Error {
  override readonly name = 'PermanentTestError';
}

/** A message in the chat of an editing FakeChannel. */
export interface ChatMessage {
  messageId: string;
  conversationId: string;
  text: string;
  replyTo: string | undefined;
}

export const PLACEHOLDER = '…';

/**
 * A Channel that records what it sends. Markdown is kept as is and split into
 * parts of at most `partLimit` characters, so tests can produce several parts.
 * Status messages are recorded apart from answers, in `statusCalls`; those
 * still showing are in `statuses`.
 *
 * With `{ editing: true }` it also delivers by editing (`sendPlaceholder`,
 * `editPart`) the way Telegram does: `chat` holds the answer messages as
 * they look now, and `editFailures` can make an edit fail after it took
 * effect, as a crash or timeout while the response was on its way would.
 */
export class FakeChannel implements Channel {
  readonly sent: SentPart[] = [];
  typing = 0;
  readonly statusCalls: StatusCall[] = [];
  /** Status messages still in the chat: message id -> text. */
  readonly statuses = new Map<string, string>();
  /** Make the status calls of this kind throw this error (until set back to undefined). */
  readonly statusFailures: Partial<Record<StatusCall['action'], Error>> = {};
  /** Answer messages, by id, as they look now (editing mode). */
  readonly chat = new Map<string, ChatMessage>();
  /** Every placeholder sent and part edited (editing mode), in order. */
  readonly editCalls: Array<{ action: 'placeholder' | 'edit'; messageId: string; text?: string }> =
    [];
  /** Errors the next edits throw after taking effect, in order. */
  readonly editFailures: unknown[] = [];
  /** Errors the next placeholder sends throw (before taking effect), in order. */
  readonly placeholderFailures: unknown[] = [];
  private failures: unknown[] = [];
  private nextStatusId = 1;
  private nextMessageId = 1;
  declare sendPlaceholder?: FakeChannel['placeholder'];
  declare editPart?: FakeChannel['edit'];

  constructor(
    private readonly partLimit = 1000,
    options: { editing?: boolean } = {},
  ) {
    if (options.editing) {
      this.sendPlaceholder = this.placeholder;
      this.editPart = this.edit;
    }
  }

  /** The answer messages' texts as the chat shows them now, oldest first. */
  shown(): string[] {
    return [...this.chat.values()].map((message) => message.text);
  }

  private async placeholder(conversation: ConversationRef, options?: SendOptions): Promise<string> {
    if (this.placeholderFailures.length > 0) throw this.placeholderFailures.shift();
    const messageId = `msg-${this.nextMessageId++}`;
    this.chat.set(messageId, {
      messageId,
      conversationId: conversationId(conversation),
      text: PLACEHOLDER,
      replyTo: options?.replyTo,
    });
    this.editCalls.push({ action: 'placeholder', messageId });
    return messageId;
  }

  private async edit(
    _conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing'> {
    const message = this.chat.get(messageId);
    if (!message) return 'missing';
    message.text = String(part.text);
    this.editCalls.push({ action: 'edit', messageId, text: message.text });
    if (this.editFailures.length > 0) throw this.editFailures.shift();
    return 'edited';
  }

  /** Make the next sends throw these errors, in order. */
  failNextSends(...errors: unknown[]): void {
    this.failures.push(...errors);
  }

  texts(): string[] {
    return this.sent.map((part) => part.text);
  }

  formatMarkdown(markdown: string): OutgoingPart[] {
    return this.formatPlain(markdown);
  }

  formatPlain(text: string): OutgoingPart[] {
    const parts: OutgoingPart[] = [];
    for (let index = 0; index < text.length; index += this.partLimit) {
      parts.push({ text: text.slice(index, index + this.partLimit) });
    }
    return parts;
  }

  async send(
    conversation: ConversationRef,
    part: OutgoingPart,
    options?: SendOptions,
  ): Promise<void> {
    if (this.failures.length > 0) throw this.failures.shift();
    this.sent.push({
      conversationId: conversationId(conversation),
      text: String(part.text),
      replyTo: options?.replyTo,
    });
  }

  async showTyping(): Promise<void> {
    this.typing++;
  }

  async sendStatus(conversation: ConversationRef, text: string): Promise<string> {
    if (this.statusFailures.send) throw this.statusFailures.send;
    const messageId = `status-${this.nextStatusId++}`;
    this.statuses.set(messageId, text);
    this.statusCalls.push({
      action: 'send',
      conversationId: conversationId(conversation),
      messageId,
      text,
    });
    return messageId;
  }

  async editStatus(conversation: ConversationRef, messageId: string, text: string): Promise<void> {
    if (this.statusFailures.edit) throw this.statusFailures.edit;
    this.statuses.set(messageId, text);
    this.statusCalls.push({
      action: 'edit',
      conversationId: conversationId(conversation),
      messageId,
      text,
    });
  }

  async deleteStatus(conversation: ConversationRef, messageId: string): Promise<void> {
    if (this.statusFailures.delete) throw this.statusFailures.delete;
    this.statuses.delete(messageId);
    this.statusCalls.push({
      action: 'delete',
      conversationId: conversationId(conversation),
      messageId,
    });
  }

  isPermanentFailure(error: unknown): boolean {
    return error instanceof PermanentTestError;
  }
}
