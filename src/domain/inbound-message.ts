import { z } from 'zod';
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

const bodySchema = z.discriminatedUnion('kind', [
  /** Text for the agent. */
  z.object({ kind: z.literal('text'), text: z.string().min(1).max(MAX_TEXT_CHARS) }),
  z.object({ kind: z.literal('command'), command: z.enum(COMMANDS), args: z.string() }),
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
  if (body.kind === 'text') return 'turn';
  if (body.kind === 'command' && body.command === 'new') return 'turn';
  return 'control';
}

/**
 * Whether `next` may be answered in the same agent turn as the batch that
 * starts with `first`: consecutive texts combine; `/new` always stands alone.
 */
export function canCombine(first: InboundMessage, next: InboundMessage): boolean {
  return first.body.kind === 'text' && next.body.kind === 'text';
}

/**
 * The prompt for one turn answering `messages` (all texts, in order). In a
 * group each line says who spoke, since the agent otherwise cannot tell.
 */
export function promptFor(messages: readonly InboundMessage[]): string {
  const texts = messages.flatMap((message) => {
    if (message.body.kind !== 'text') return [];
    return message.chatType === 'group'
      ? [`${message.sender.name}: ${message.body.text}`]
      : [message.body.text];
  });
  return texts.join('\n\n');
}

export function parseInboundMessage(value: unknown): InboundMessage {
  return inboundMessageSchema.parse(value) as InboundMessage;
}
