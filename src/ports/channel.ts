import type { ConversationRef } from '../domain/conversation.js';
import type { ButtonAction } from '../domain/person-questions.js';

/**
 * One message ready to send, in the channel's own format (for Telegram: HTML
 * with a plain-text twin). The core stores parts in the reply outbox and hands
 * them back unchanged, so they must survive a JSON round trip.
 */
export type OutgoingPart = Readonly<Record<string, string>>;

export interface SendOptions {
  /** Reply to this message (the channel's message id), where that helps the reader. */
  replyTo?: string | undefined;
  /**
   * For `sendPlaceholder`: the part that will be edited into it, so the
   * placeholder is a message of the same kind (Telegram: a rich message for a
   * rich part, since an edit cannot turn one kind of message into the other).
   */
  part?: OutgoingPart | undefined;
}

/** A live preview of an answer being written (Telegram: a message draft). */
export interface AnswerDraftContent {
  /** The answer so far, Markdown, with the agent's activity between its parts. */
  markdown: string;
  /** The same as plain text, for a channel that cannot show Markdown in a draft. */
  plain: string;
}

/**
 * What became of a draft: shown; too soon (flood control: wait `retryAfterMs`
 * before the next); or unavailable here (the chat or the platform has no
 * drafts), so the caller stops drafting for this turn.
 */
export type DraftOutcome = 'shown' | 'unavailable' | { retryAfterMs: number };

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
   * (deleted by the person), so the worker can send the part anew, and
   * `fallback` when the part cannot be shown as it is: the worker then
   * delivers `fallbackParts(part)` in its place, the first into this message.
   */
  editPart?(
    conversation: ConversationRef,
    messageId: string,
    part: OutgoingPart,
  ): Promise<'edited' | 'missing' | 'fallback'>;
  /**
   * Optional, with `editPart` answering `fallback`: the parts to deliver in
   * place of one the channel cannot show as it is (Telegram: a rich message
   * that the Bot API does not know or refused), in the channel's fallback
   * form. The first of them goes into the message `editPart` left unchanged.
   */
  fallbackParts?(part: OutgoingPart): OutgoingPart[];
  /**
   * Optional: shows `content` as a draft of the answer, replacing the draft
   * with the same `draftId` (one per turn) if there is one. The person can
   * stop the turn from it (the channel turns that into a `/stop`). Private
   * chats only; resolves `unavailable` elsewhere. Never the answer itself:
   * the answer is always sent as a real message. `signal` abandons the call
   * (the turn ended), waits for flood control included.
   */
  sendDraft?(
    conversation: ConversationRef,
    draftId: number,
    content: AnswerDraftContent,
    signal?: AbortSignal | undefined,
  ): Promise<DraftOutcome>;
  /**
   * True when sending failed for a reason retrying cannot fix: the bot was
   * blocked or removed, the chat is gone. The worker then gives up quietly.
   */
  isPermanentFailure(error: unknown): boolean;
  /**
   * Optional: delivers a file part (domain/outgoing-file.ts: a staged copy
   * or inline content, with a name and caption). A staged copy that is gone
   * (a redelivery on another container) is not an error: the person is told
   * the file could not be delivered. Without it, files are not sent.
   */
  sendFile?(
    conversation: ConversationRef,
    part: OutgoingPart,
    options?: SendOptions,
  ): Promise<void>;
  /**
   * Optional: fetches a file a person sent (by the channel's file id) to
   * `destination`, a local path that exists only once the whole file is
   * there. Throws FileTooLargeError (domain/attachment.ts), leaving nothing
   * behind, for a file over `maxBytes` or over the channel's own limit.
   */
  downloadFile?(
    fileId: string,
    destination: string,
    options: { maxBytes: number; signal?: AbortSignal | undefined },
  ): Promise<{ bytes: number }>;
  /**
   * Optional, all three or none: a question with buttons (see
   * domain/person-questions.ts). Sends `question` and returns its message id.
   */
  sendQuestion?(conversation: ConversationRef, question: QuestionMessage): Promise<string>;
  /** Replaces the buttons of a question message (a multi-select's ticks). */
  editQuestion?(
    conversation: ConversationRef,
    messageId: string,
    question: QuestionMessage,
  ): Promise<void>;
  /** Ends a question message: `text` replaces it, and its buttons go. */
  closeQuestion?(conversation: ConversationRef, messageId: string, text: string): Promise<void>;
}

/** One button of a question: its label and what pressing it does. */
export interface QuestionButton {
  label: string;
  action: ButtonAction;
}

/** A question message: plain text, and rows of buttons carrying the question's id. */
export interface QuestionMessage {
  questionId: string;
  text: string;
  buttons: QuestionButton[][];
}

/** A channel that can show questions with buttons. */
export type QuestionChannel = Required<
  Pick<Channel, 'sendQuestion' | 'editQuestion' | 'closeQuestion'>
>;

export function asksWithButtons(channel: Channel): channel is Channel & QuestionChannel {
  return (
    typeof channel.sendQuestion === 'function' &&
    typeof channel.editQuestion === 'function' &&
    typeof channel.closeQuestion === 'function'
  );
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
