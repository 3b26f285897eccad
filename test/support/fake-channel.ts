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

/**
 * A Channel that records what it sends. Markdown is kept as is and split into
 * parts of at most `partLimit` characters, so tests can produce several parts.
 * Status messages are recorded apart from answers, in `statusCalls`; those
 * still showing are in `statuses`.
 */
export class FakeChannel implements Channel {
  readonly sent: SentPart[] = [];
  typing = 0;
  readonly statusCalls: StatusCall[] = [];
  /** Status messages still in the chat: message id -> text. */
  readonly statuses = new Map<string, string>();
  /** Make the status calls of this kind throw this error (until set back to undefined). */
  readonly statusFailures: Partial<Record<StatusCall['action'], Error>> = {};
  private failures: unknown[] = [];
  private nextStatusId = 1;

  constructor(private readonly partLimit = 1000) {}

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
