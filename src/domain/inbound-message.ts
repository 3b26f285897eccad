import { z } from 'zod';
import { attachmentSchema } from './attachment.js';
import type { ConversationRef } from './conversation.js';

/**
 * What a person said, normalised away from the channel it came through. This
 * is the queue's payload: it is validated with the schema below whenever it is
 * read back, so a row written by an older or broken version is reported and
 * dead-lettered instead of crashing a worker.
 */

export const COMMANDS = ['start', 'help', 'new', 'status', 'stop'] as const;
export type CommandName = (typeof COMMANDS)[number];

const conversationSchema = z.object({
  tenant: z.string().min(1),
  channel: z.string().min(1),
  chatId: z.string().min(1),
  threadId: z.string().min(1).optional(),
});

/**
 * The most text one message brings into a turn. Telegram's own messages stop
 * at 4,096 characters (captions at 1,024); anything longer came from a
 * self-hosted Bot API server or a forged update, and would be sent whole to
 * the model. Longer messages are refused with a short answer, not cut: the
 * agent never works on half a request without knowing it.
 */
export const MAX_TEXT_CHARS = 16_000;

/** The most of a replied-to message's text given as context (Telegram's own messages stop at 4,096). */
export const MAX_REPLY_CONTEXT_CHARS = 4_096;

/**
 * How long the queue holds back a message of an album before handing it out,
 * so the album's other messages (separate updates, usually within a second)
 * are queued by then and make one turn with it.
 */
export const ALBUM_WAIT_MS = 1_500;

const bodySchema = z.discriminatedUnion('kind', [
  /** Text for the agent. */
  z.object({ kind: z.literal('text'), text: z.string().min(1).max(MAX_TEXT_CHARS) }),
  z.object({ kind: z.literal('command'), command: z.enum(COMMANDS), args: z.string() }),
  /**
   * Files for the agent (a photo, a document, a voice message, ...) with the
   * caption as `text` (may be empty). The worker downloads them; see
   * src/core/pipeline/inbound-media.ts.
   */
  z.object({
    kind: z.literal('media'),
    text: z.string().max(MAX_TEXT_CHARS),
    attachments: z.array(attachmentSchema).min(1).max(10),
  }),
  /** Something the bot does not handle (a sticker, a voice note, ...) that deserves a short reply. */
  z.object({ kind: z.literal('unsupported'), what: z.string().min(1) }),
  /**
   * A message the bot refuses, with the short plain answer `hint`: a person
   * the access policy does not admit, or a message too long to take.
   */
  z.object({ kind: z.literal('refused'), hint: z.string().min(1) }),
]);

export const inboundMessageSchema = z.object({
  /** Unique per channel and bot, stable across redelivery: the dedupe key. */
  id: z.string().min(1),
  conversation: conversationSchema,
  /** Where it was said: a private chat, or a group of several people. */
  chatType: z.enum(['private', 'group']),
  /** The channel's id of the message, to reply to it; absent when there is none. */
  messageId: z.string().min(1).optional(),
  sender: z.object({
    id: z.string().min(1),
    /** How to call the sender in a group transcript. */
    name: z.string().min(1),
  }),
  /** Epoch ms when ingress accepted it. */
  receivedAt: z.number().int().nonnegative(),
  body: bodySchema,
  /** The message this one replies to, as context for the agent (its text, cut; its file). */
  replyTo: z
    .object({
      senderName: z.string().min(1).max(256).optional(),
      text: z.string().max(MAX_REPLY_CONTEXT_CHARS).optional(),
      attachment: attachmentSchema.optional(),
    })
    .optional(),
  /**
   * Set on each message of an album (Telegram's `media_group_id`): they arrive
   * as separate updates, and the queue holds the first back for
   * ALBUM_WAIT_MS so that its siblings join it in one turn.
   */
  mediaGroupId: z.string().min(1).max(128).optional(),
  /**
   * Set on a continuation: a turn cut at a run's deadline (the worker Lambda's
   * 15 minutes) goes on in a later run, queued on the conversation's turn lane
   * as a text message whose text is the instruction to continue (see
   * src/core/pipeline/continuation.ts). `of`: the id of the message that
   * started the task; `n`: which continuation this is (1-based);
   * `startedAt`: when the task's first run began (epoch ms); `sessionId`:
   * the session it continues, so a continuation that a `/new` or expiry
   * overtook is dropped rather than run in a fresh session
   * (stale-continuations.ts).
   */
  continuation: z
    .object({
      of: z.string().min(1),
      n: z.number().int().positive(),
      startedAt: z.number().int().nonnegative(),
      sessionId: z.string().min(1).max(256).optional(),
    })
    .optional(),
});

export type InboundMessage = z.infer<typeof inboundMessageSchema> & {
  conversation: ConversationRef;
};
export type InboundBody = InboundMessage['body'];

/**
 * Which lane of its conversation a message travels on. Agent turns (and `/new`,
 * which must fall between the turns before and after it) keep strict order on
 * the `turn` lane. Everything that must not wait behind a running turn —
 * `/stop`, `/status`, help, short notices — takes the `control` lane.
 */
export type LaneKind = 'turn' | 'control';

export function laneOf(message: InboundMessage): LaneKind {
  const { body } = message;
  if (isForAgent(message)) return 'turn';
  if (body.kind === 'command' && body.command === 'new') return 'turn';
  return 'control';
}

/**
 * Whether `next` may be answered in the same agent turn as the batch that
 * starts with `first`: consecutive texts and media (an album's photos, a
 * file and the question about it) combine; `/new` always stands alone.
 */
export function canCombine(first: InboundMessage, next: InboundMessage): boolean {
  return isForAgent(first) && isForAgent(next);
}

function isForAgent(message: InboundMessage): boolean {
  return message.body.kind === 'text' || message.body.kind === 'media';
}

/** How long the queue should hold `message` back before handing it out (see ALBUM_WAIT_MS). */
export function holdBackMs(message: InboundMessage): number {
  return message.mediaGroupId !== undefined ? ALBUM_WAIT_MS : 0;
}

/**
 * The prompt for one turn answering `messages` (texts and captions, in
 * order; the files themselves are named to the agent by the runtime). In a
 * group each line says who spoke, since the agent otherwise cannot tell. A
 * reply carries the replied-to text before the message, as context.
 */
export function promptFor(messages: readonly InboundMessage[]): string {
  const texts = messages.flatMap((message) => {
    if (message.body.kind !== 'text' && message.body.kind !== 'media') return [];
    const context = replyContext(message);
    const text = message.body.text.trim();
    if (!text && !context) return [];
    const said = [context, text].filter(Boolean).join('\n');
    // A continuation's instruction comes from the bot, not from the sender.
    return message.chatType === 'group' && !message.continuation
      ? [`${message.sender.name}: ${said}`]
      : [said];
  });
  return texts.join('\n\n');
}

function replyContext(message: InboundMessage): string | undefined {
  const reply = message.replyTo;
  if (!reply || (!reply.text && !reply.attachment)) return undefined;
  const who = reply.senderName ? ` ${reply.senderName}'s message` : ' a message';
  const quoted = reply.text
    ? reply.text
        .split('\n')
        .map((line) => `> ${line}`)
        .join('\n')
    : '> (a file)';
  return `[In reply to${who}:]\n${quoted}`;
}

export function parseInboundMessage(value: unknown): InboundMessage {
  return inboundMessageSchema.parse(value) as InboundMessage;
}
