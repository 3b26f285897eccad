import type { ConversationRef } from '../domain/conversation.js';

/**
 * One message ready to send, in the channel's own format (for Telegram: HTML
 * with a plain-text twin). The core stores parts in the reply outbox and hands
 * them back unchanged, so they must survive a JSON round trip.
 */
export type OutgoingPart = Readonly<Record<string, string>>;

export interface SendOptions {
  /** Reply to this message (the channel's message id), where that helps the reader. */
  replyTo?: string | undefined;
}

/** Where the core sends answers. Implementations: grammY for Telegram. */
export interface Channel {
  /** Render the agent's Markdown into parts that each fit the channel's limits. Pure. */
  formatMarkdown(markdown: string): OutgoingPart[];
  /** The same for text we compose ourselves, shown as is. Pure. */
  formatPlain(text: string): OutgoingPart[];
  /** Deliver one part. Throws if the channel did not accept it. */
  send(conversation: ConversationRef, part: OutgoingPart, options?: SendOptions): Promise<void>;
  /** Show that the agent is working (Telegram's "typing…", which fades after ~5 s). */
  showTyping(conversation: ConversationRef): Promise<void>;
  /**
   * Optional, all three or none: a plain-text status message that says what
   * a long turn is doing, edited as it goes and deleted when the answer is
   * ready. Without them the channel only shows typing.
   *
   * Sends a status message and returns its id (the channel's message id).
   */
  sendStatus?(conversation: ConversationRef, text: string): Promise<string>;
  /** Replaces the status message's text. */
  editStatus?(conversation: ConversationRef, messageId: string, text: string): Promise<void>;
  /** Removes the status message. */
  deleteStatus?(conversation: ConversationRef, messageId: string): Promise<void>;
  /**
   * Optional, both or none: delivery by edit, for exactly-once answers on a
   * channel whose send has no idempotency key (Telegram's sendMessage). The
   * worker sends a placeholder, records its id in the reply outbox, then
   * edits the part into it; a redelivery edits the same message again
   * instead of sending a second copy. Without them parts go out with `send`.
   *
   * Sends a placeholder message that a part will be edited into (notifying,
   * as the answer's own message would) and returns its id.
   */
  sendPlaceholder?(conversation: ConversationRef, options?: SendOptions): Promise<string>;
  /**
   * Writes a part into a message sent earlier. A message that already shows
   * the part counts as done. Resolves `missing` when the message is gone
   * (deleted by the person), so the worker can send the part anew.
   */
  editPart?(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing'>;
  /**
   * True when sending failed for a reason retrying cannot fix: the bot was
   * blocked or removed, the chat is gone. The worker then gives up quietly.
   */
  isPermanentFailure(error: unknown): boolean;
}

/** A channel that can show status messages. */
export type StatusChannel = Required<Pick<Channel, 'sendStatus' | 'editStatus' | 'deleteStatus'>>;

export function hasStatusMessages(channel: Channel): channel is Channel & StatusChannel {
  return (
    typeof channel.sendStatus === 'function' &&
    typeof channel.editStatus === 'function' &&
    typeof channel.deleteStatus === 'function'
  );
}

/** A channel that delivers answer parts by editing placeholders. */
export type EditingChannel = Required<Pick<Channel, 'sendPlaceholder' | 'editPart'>>;

export function deliversByEditing(channel: Channel): channel is Channel & EditingChannel {
  return typeof channel.sendPlaceholder === 'function' && typeof channel.editPart === 'function';
}
