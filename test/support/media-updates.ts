import { mentionEntities, messageEnvelope, type TestUser } from './fake-bot-api.js';

/**
 * Builders for Telegram updates that carry files (photos, documents, voice
 * messages, ...), shaped as the Bot API sends them. The file ids are what a
 * test gave the fake Bot API with `FakeBotApi.addFile`.
 */

/** A 1x1 JPEG (Claude Code reads an image's header, so a photo must be a real one). */
export const TINY_JPEG = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=',
  'base64',
);

export interface MediaUpdateOptions {
  chatId: number;
  from?: TestUser;
  chatType?: 'private' | 'group' | 'supergroup';
  messageId?: number;
  caption?: string;
  mediaGroupId?: string;
  /** The message replied to (a Bot API Message object, or the fields tests need). */
  replyTo?: Record<string, unknown>;
}

export interface TestFile {
  fileId: string;
  fileUniqueId?: string;
  size?: number;
  fileName?: string;
  mimeType?: string;
  duration?: number;
}

export function mediaMessage(
  options: MediaUpdateOptions,
  content: Record<string, unknown>,
): Record<string, unknown> {
  const { message } = messageEnvelope(options);
  const mentions = mentionEntities(options.caption ?? '');
  return {
    message: {
      ...message,
      ...content,
      ...(options.caption !== undefined ? { caption: options.caption } : {}),
      ...(mentions.length > 0 ? { caption_entities: mentions } : {}),
      ...(options.mediaGroupId ? { media_group_id: options.mediaGroupId } : {}),
      ...(options.replyTo ? { reply_to_message: options.replyTo } : {}),
    },
  };
}

function fileFields(file: TestFile): Record<string, unknown> {
  return {
    file_id: file.fileId,
    file_unique_id: file.fileUniqueId ?? `u-${file.fileId}`,
    ...(file.size !== undefined ? { file_size: file.size } : {}),
    ...(file.fileName !== undefined ? { file_name: file.fileName } : {}),
    ...(file.mimeType !== undefined ? { mime_type: file.mimeType } : {}),
    ...(file.duration !== undefined ? { duration: file.duration } : {}),
  };
}

export function documentUpdate(options: MediaUpdateOptions & { file: TestFile }) {
  return mediaMessage(options, { document: fileFields(options.file) });
}

/** A photo in three sizes, smallest first as Telegram sends them; `file` is the largest. */
export function photoUpdate(options: MediaUpdateOptions & { file: TestFile }) {
  const largest = { ...fileFields(options.file), width: 1280, height: 960 };
  return mediaMessage(options, {
    photo: [
      { file_id: `${options.file.fileId}-s`, file_unique_id: 'small', width: 90, height: 68 },
      { file_id: `${options.file.fileId}-m`, file_unique_id: 'medium', width: 320, height: 240 },
      largest,
    ],
  });
}

export function voiceUpdate(options: MediaUpdateOptions & { file: TestFile }) {
  return mediaMessage(options, {
    voice: { duration: 3, mime_type: 'audio/ogg', ...fileFields(options.file) },
  });
}
