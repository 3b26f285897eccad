import { z } from 'zod';
import { type AccessPolicy, isAllowed } from '../../domain/access-policy.js';
import {
  COMMANDS,
  type CommandName,
  type InboundMessage,
  MAX_TEXT_CHARS,
} from '../../domain/inbound-message.js';
import { texts } from '../../texts/en.js';
import { normalizeStoppedGeneration } from './stopped-generation.js';
import { attachmentOf, replyContextOf } from './telegram-attachments.js';
import { telegramConversation } from './telegram-conversation.js';

/**
 * Turns a Telegram update into an InboundMessage, or says why it is ignored.
 * Pure: no I/O, so every rule about what the bot answers is tested here.
 *
 * - Private chats: every message is for the bot.
 * - Groups and supergroups: only messages that mention the bot, reply to it,
 *   or carry a command (`/help`, or `/help@thisbot` — not `/help@otherbot`).
 * - Forum topics are conversations of their own, keyed by `message_thread_id`.
 * - People the access policy does not admit get a short refusal with their
 *   user id (the intake decides how often); their words go no further.
 * - Text longer than MAX_TEXT_CHARS is refused, not cut.
 * - Photos, documents, voice, audio, video and animations become a `media`
 *   body with the caption as its text (telegram-attachments.ts); stickers,
 *   locations and the like get a short "can't handle" answer.
 * - A reply carries the replied-to text and file as context; an album's
 *   messages carry its `media_group_id`.
 */

export interface BotIdentity {
  id: number;
  username: string;
}

export interface NormalizeContext {
  bot: BotIdentity;
  tenant: string;
  access: AccessPolicy;
  now: number;
  /**
   * Take a group message as addressed to the bot without a mention or a
   * reply: an item of an album another item of which was (album-intake.ts).
   */
  addressed?: boolean | undefined;
}

/** Who was refused by the access policy, for the operator's log. */
export interface Refusal {
  userId: string;
  chatId: string;
  chatType: 'private' | 'group';
}

export type Normalized =
  | { action: 'enqueue'; message: InboundMessage; refused?: Refusal }
  /** Acknowledged and logged, nothing else. */
  | { action: 'ignore'; reason: string };

const userSchema = z.looseObject({
  id: z.number().int(),
  is_bot: z.boolean().optional(),
  first_name: z.string().optional(),
  last_name: z.string().optional(),
  username: z.string().optional(),
});

const chatSchema = z.looseObject({
  id: z.number().int(),
  type: z.string(),
  title: z.string().optional(),
});

const entitySchema = z.looseObject({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  user: userSchema.optional(),
});

const messageSchema = z.looseObject({
  message_id: z.number().int(),
  chat: chatSchema,
  from: userSchema.optional(),
  sender_chat: chatSchema.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  entities: z.array(entitySchema).optional(),
  caption_entities: z.array(entitySchema).optional(),
  message_thread_id: z.number().int().optional(),
  is_topic_message: z.boolean().optional(),
  reply_to_message: z
    .looseObject({ message_id: z.number().int(), from: userSchema.optional() })
    .optional(),
});

type TelegramMessage = z.infer<typeof messageSchema>;
type Entity = z.infer<typeof entitySchema>;

/** Content Telegram can carry that the agent cannot read yet (the message's field names). */
const UNSUPPORTED_CONTENT = [
  'photo',
  'video',
  'animation',
  'document',
  'audio',
  'voice',
  'video_note',
  'sticker',
  'location',
  'venue',
  'contact',
  'poll',
  'dice',
  'game',
  'story',
  'paid_media',
  'checklist',
] as const satisfies ReadonlyArray<keyof typeof texts.contentNames>;

/** Service messages (members joining, pins, topic changes, ...) say nothing to the bot. */
const SERVICE_KEYS = [
  'new_chat_members',
  'left_chat_member',
  'new_chat_title',
  'new_chat_photo',
  'delete_chat_photo',
  'group_chat_created',
  'supergroup_chat_created',
  'migrate_to_chat_id',
  'migrate_from_chat_id',
  'pinned_message',
  'forum_topic_created',
  'forum_topic_edited',
  'forum_topic_closed',
  'forum_topic_reopened',
  'general_forum_topic_hidden',
  'general_forum_topic_unhidden',
  'video_chat_started',
  'video_chat_ended',
  'video_chat_scheduled',
  'video_chat_participants_invited',
  'message_auto_delete_timer_changed',
  'write_access_allowed',
  'boost_added',
  'chat_background_set',
];

export function normalizeUpdate(update: unknown, context: NormalizeContext): Normalized {
  const envelope = z.looseObject({ update_id: z.number().int() }).safeParse(update);
  if (!envelope.success) return { action: 'ignore', reason: 'not an update' };
  const raw = envelope.data as Record<string, unknown>;

  if (raw.message === undefined) {
    if (raw.edited_message !== undefined) return editedMessage(raw, context);
    // The stop button of an answer's draft: a /stop (stopped-generation.ts).
    if (raw.stopped_message_generation !== undefined)
      return normalizeStoppedGeneration(raw, context);
    const kind = Object.keys(raw).find((key) => key !== 'update_id') ?? 'empty';
    return { action: 'ignore', reason: `unhandled update type ${kind}` };
  }

  const parsed = messageSchema.safeParse(raw.message);
  if (!parsed.success) return { action: 'ignore', reason: 'malformed message' };
  const message = parsed.data;
  const chatType = chatTypeOf(message.chat.type);
  if (!chatType) return { action: 'ignore', reason: `chat type ${message.chat.type}` };
  if (message.from?.is_bot && !message.sender_chat)
    return { action: 'ignore', reason: 'message from a bot' };
  if (SERVICE_KEYS.some((key) => key in message))
    return { action: 'ignore', reason: 'service message' };

  const text = message.text ?? message.caption;
  const entities = (message.text !== undefined ? message.entities : message.caption_entities) ?? [];
  const command = text !== undefined ? commandOf(text, entities, context.bot) : undefined;
  if (command === 'other-bot') return { action: 'ignore', reason: 'command for another bot' };
  if (
    chatType === 'group' &&
    !command &&
    !context.addressed &&
    !addressesBot(message, text, entities, context.bot)
  ) {
    return { action: 'ignore', reason: 'group message not addressed to the bot' };
  }

  const base = baseMessage(envelope.data.update_id, message, chatType, context);
  const userId = String(message.from?.id ?? message.sender_chat?.id ?? 0);
  if (!isAllowed(context.access, userId, base.conversation.chatId)) {
    return {
      action: 'enqueue',
      message: {
        ...base,
        body: { kind: 'refused', hint: texts.refused(userId) },
      },
      refused: { userId, chatId: base.conversation.chatId, chatType },
    };
  }

  const attachment = attachmentOf(message);
  const content = attachment ? undefined : UNSUPPORTED_CONTENT.find((key) => key in message);
  if (content)
    return {
      action: 'enqueue',
      message: { ...base, body: { kind: 'unsupported', what: texts.contentNames[content] } },
    };
  if (text === undefined && !attachment)
    return { action: 'ignore', reason: 'message without text' };
  if (text !== undefined && text.length > MAX_TEXT_CHARS) {
    return {
      action: 'enqueue',
      message: {
        ...base,
        body: { kind: 'refused', hint: texts.tooLong(text.length, MAX_TEXT_CHARS) },
      },
    };
  }

  const replyTo = replyContextOf(message, context.bot.id);
  const extra = {
    ...(replyTo ? { replyTo } : {}),
    ...(typeof message.media_group_id === 'string' && message.media_group_id.length <= 128
      ? { mediaGroupId: message.media_group_id }
      : {}),
  };
  // What the person says, without the mention that addressed the bot; of a file, its caption.
  const cleaned =
    text === undefined
      ? ''
      : chatType === 'group'
        ? stripMention(text, entities, context.bot).trim()
        : text.trim();
  if (attachment) {
    // A command in the caption is part of what is said about the file.
    return {
      action: 'enqueue',
      message: {
        ...base,
        ...extra,
        body: { kind: 'media', text: cleaned, attachments: [attachment] },
      },
    };
  }
  if (text === undefined) return { action: 'ignore', reason: 'message without text' };

  if (command?.name) {
    const args = text.slice(command.length).trim();
    return {
      action: 'enqueue',
      message: { ...base, body: { kind: 'command', command: command.name, args } },
    };
  }

  if (cleaned === '') {
    // "@bot" alone: the person wants attention; show what the bot can do.
    return {
      action: 'enqueue',
      message: { ...base, body: { kind: 'command', command: 'help', args: '' } },
    };
  }
  return {
    action: 'enqueue',
    message: { ...base, ...extra, body: { kind: 'text', text: cleaned } },
  };
}

/** In a private chat a person who edits a message expects a reaction; in a group nobody does. */
function editedMessage(raw: Record<string, unknown>, context: NormalizeContext): Normalized {
  const parsed = messageSchema.safeParse(raw.edited_message);
  if (!parsed.success || parsed.data.chat.type !== 'private' || parsed.data.from?.is_bot) {
    return { action: 'ignore', reason: 'edited message' };
  }
  const base = baseMessage(raw.update_id as number, parsed.data, 'private', context);
  const userId = String(parsed.data.from?.id ?? 0);
  if (!isAllowed(context.access, userId, base.conversation.chatId)) {
    return { action: 'ignore', reason: 'edited message from a refused user' };
  }
  return {
    action: 'enqueue',
    message: { ...base, body: { kind: 'unsupported', what: texts.contentNames.edit } },
  };
}

function baseMessage(
  updateId: number,
  message: TelegramMessage,
  chatType: 'private' | 'group',
  context: NormalizeContext,
): Omit<InboundMessage, 'body'> {
  const conversation = telegramConversation(context.tenant, message);
  return {
    // Update ids are per bot: the bot's id keeps two bots on one store apart.
    id: `telegram:${context.bot.id}:${updateId}`,
    conversation,
    chatType,
    messageId: String(message.message_id),
    sender: {
      id: String(message.from?.id ?? message.sender_chat?.id ?? 0),
      name: senderName(message),
    },
    receivedAt: context.now,
  };
}

function chatTypeOf(type: string): 'private' | 'group' | undefined {
  if (type === 'private') return 'private';
  if (type === 'group' || type === 'supergroup') return 'group';
  return undefined;
}

function senderName(message: TelegramMessage): string {
  if (message.sender_chat?.title) return message.sender_chat.title;
  const from = message.from;
  const full = [from?.first_name, from?.last_name].filter(Boolean).join(' ').trim();
  return full || (from?.username ? `@${from.username}` : 'someone');
}

type CommandMatch = { name: CommandName | undefined; length: number } | 'other-bot' | undefined;

/**
 * The command at the start of the text, if any. Unknown commands have no
 * name: they go to the agent as text, which may well understand them.
 */
function commandOf(text: string, entities: Entity[], bot: BotIdentity): CommandMatch {
  const entity = entities.find(
    (candidate) => candidate.type === 'bot_command' && candidate.offset === 0,
  );
  if (!entity) return undefined;
  const token = text.slice(1, entity.length);
  const [name = '', target] = token.split('@');
  if (target && target.toLowerCase() !== bot.username.toLowerCase()) return 'other-bot';
  const lower = name.toLowerCase();
  const known = (COMMANDS as readonly string[]).includes(lower)
    ? (lower as CommandName)
    : undefined;
  // An unknown command addressed to this bot still counts as addressing it.
  return { name: known, length: entity.length };
}

function addressesBot(
  message: TelegramMessage,
  text: string | undefined,
  entities: Entity[],
  bot: BotIdentity,
): boolean {
  const reply = message.reply_to_message;
  // In a forum, every message in a topic "replies" to the topic's first message.
  const topicRoot = message.is_topic_message && reply?.message_id === message.message_thread_id;
  if (reply?.from?.id === bot.id && !topicRoot) return true;
  if (text === undefined) return false;
  return entities.some((entity) => mentionsBot(text, entity, bot));
}

function mentionsBot(text: string, entity: Entity, bot: BotIdentity): boolean {
  if (entity.type === 'text_mention') return entity.user?.id === bot.id;
  if (entity.type !== 'mention') return false;
  const mention = text.slice(entity.offset, entity.offset + entity.length);
  return mention.toLowerCase() === `@${bot.username.toLowerCase()}`;
}

/** Remove mentions of the bot (offsets are UTF-16, like JavaScript strings). */
function stripMention(text: string, entities: Entity[], bot: BotIdentity): string {
  const mentions = entities
    .filter((entity) => entity.type === 'mention' && mentionsBot(text, entity, bot))
    .sort((a, b) => b.offset - a.offset);
  let result = text;
  for (const entity of mentions) {
    result = result.slice(0, entity.offset) + result.slice(entity.offset + entity.length);
  }
  return result.replace(/[ \t]{2,}/g, ' ');
}
