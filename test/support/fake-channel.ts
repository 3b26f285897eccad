import type { ConversationRef } from '../../src/core/conversation.js';
import { conversationId } from '../../src/core/conversation.js';
import type { Channel, OutgoingPart, SendOptions } from '../../src/ports/channel.js';

export interface SentPart {
  conversationId: string;
  text: string;
  replyTo: string | undefined;
}

export class PermanentTestError extends Error {
  override readonly name = 'PermanentTestError';
}

/**
 * A Channel that records what it sends. Markdown is kept as is and split into
 * parts of at most `partLimit` characters, so tests can produce several parts.
 */
export class FakeChannel implements Channel {
  readonly sent: SentPart[] = [];
  typing = 0;
  private failures: unknown[] = [];

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

  isPermanentFailure(error: unknown): boolean {
    return error instanceof PermanentTestError;
  }
}
