import { z } from 'zod';
import type { Attachment, AttachmentKind } from '../../domain/attachment.js';
import { MAX_REPLY_CONTEXT_CHARS } from '../../domain/inbound-message.js';

/**
 * The files of a Telegram message, as the Bot API describes them (photo,
 * document, voice, audio, video, animation, video_note), read into the
 * channel-neutral Attachment. Pure, like normalize-update.ts, which uses it.
 */

const fileSchema = z.looseObject({
  file_id: z.string().min(1).max(512),
  file_unique_id: z.string().min(1).max(256),
  file_size: z.number().int().nonnegative().optional(),
  file_name: z.string().optional(),
  mime_type: z.string().optional(),
  duration: z.number().int().nonnegative().optional(),
  width: z.number().int().nonnegative().optional(),
  height: z.number().int().nonnegative().optional(),
});
type TelegramFile = z.infer<typeof fileSchema>;

/**
 * Checked in this order: a message with an animation also carries it as a
 * `document` (for old clients), and must count as the animation.
 */
const FILE_FIELDS = [
  'animation',
  'document',
  'voice',
  'audio',
  'video',
  'video_note',
] as const satisfies readonly AttachmentKind[];

/** The message's file, if it has one the agent can take; undefined otherwise (or if malformed). */
export function attachmentOf(message: Record<string, unknown>): Attachment | undefined {
  if (message.photo !== undefined) {
    const sizes = z.array(fileSchema).safeParse(message.photo);
    if (!sizes.success || sizes.data.length === 0) return undefined;
    // Telegram lists a photo's sizes smallest first; the largest is the one worth reading.
    const largest = sizes.data.reduce((best, size) => (area(size) >= area(best) ? size : best));
    return toAttachment('photo', { ...largest, mime_type: 'image/jpeg' });
  }
  for (const field of FILE_FIELDS) {
    if (message[field] === undefined) continue;
    const file = fileSchema.safeParse(message[field]);
    return file.success ? toAttachment(field, file.data) : undefined;
  }
  return undefined;
}

function area(size: TelegramFile): number {
  return (size.width ?? 0) * (size.height ?? 0) || (size.file_size ?? 0);
}

function toAttachment(kind: AttachmentKind, file: TelegramFile): Attachment {
  const fileName = file.file_name?.trim().slice(0, 256);
  const mimeType = file.mime_type?.trim().slice(0, 256);
  return {
    kind,
    fileId: file.file_id,
    fileUniqueId: file.file_unique_id,
    ...(fileName ? { fileName } : {}),
    ...(mimeType ? { mimeType } : {}),
    ...(file.file_size !== undefined ? { size: file.file_size } : {}),
    ...(file.duration !== undefined ? { durationSeconds: file.duration } : {}),
  };
}

const replySchema = z.looseObject({
  message_id: z.number().int(),
  from: z
    .looseObject({
      id: z.number().int(),
      first_name: z.string().optional(),
      last_name: z.string().optional(),
      username: z.string().optional(),
    })
    .optional(),
  sender_chat: z.looseObject({ title: z.string().optional() }).optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
});

export interface ReplyContext {
  senderName?: string;
  text?: string;
  attachment?: Attachment;
}

/**
 * What the message replies to, as context for the agent: the replied-to
 * text or caption (the part the person quoted, if they quoted one), cut to
 * MAX_REPLY_CONTEXT_CHARS, and its file. Undefined when there is nothing to
 * give, or when the "reply" is only a forum topic's root, which every
 * message in a topic replies to.
 */
export function replyContextOf(
  message: Record<string, unknown>,
  botId: number,
): ReplyContext | undefined {
  const parsed = replySchema.safeParse(message.reply_to_message);
  if (!parsed.success) return undefined;
  const reply = parsed.data;
  if (message.is_topic_message === true && reply.message_id === message.message_thread_id) {
    return undefined;
  }
  const quote = z.looseObject({ text: z.string() }).safeParse(message.quote);
  const full = quote.success ? quote.data.text : (reply.text ?? reply.caption);
  const text = full?.trim()
    ? full.length > MAX_REPLY_CONTEXT_CHARS
      ? `${full.slice(0, MAX_REPLY_CONTEXT_CHARS - 1)}…`
      : full
    : undefined;
  const attachment = attachmentOf(reply);
  if (!text && !attachment) return undefined;
  const senderName = replySender(reply, botId);
  return {
    ...(senderName ? { senderName } : {}),
    ...(text ? { text } : {}),
    ...(attachment ? { attachment } : {}),
  };
}

function replySender(reply: z.infer<typeof replySchema>, botId: number): string | undefined {
  if (reply.from?.id === botId) return 'the assistant';
  if (reply.sender_chat?.title) return reply.sender_chat.title.slice(0, 256);
  const name = [reply.from?.first_name, reply.from?.last_name].filter(Boolean).join(' ').trim();
  const shown = name || (reply.from?.username ? `@${reply.from.username}` : '');
  return shown ? shown.slice(0, 256) : undefined;
}
