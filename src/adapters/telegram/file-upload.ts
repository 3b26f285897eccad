import { stat } from 'node:fs/promises';
import { type Api, GrammyError, InputFile } from 'grammy';
import {
  asOutgoingFile,
  isPhotoName,
  MAX_OUTGOING_PHOTO_BYTES,
} from '../../domain/outgoing-file.js';
import type { OutgoingPart } from '../../ports/channel.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { texts } from '../../texts/en.js';
import type { GrammySignal } from './bot-api-client.js';

/** Where a file goes: the chat, and the thread and reply the channel worked out. */
export interface FileDestination {
  chatId: string;
  params: {
    message_thread_id?: number;
    reply_parameters?: { message_id: number; allow_sending_without_reply: boolean };
  };
}

/**
 * Uploads a file part (domain/outgoing-file.ts) to a chat. PNG, JPEG and
 * WebP images within Telegram's 10 MB photo limit go as photos (shown
 * inline); should Telegram still refuse one as a photo (its dimensions,
 * say), it goes again as a document. Everything else goes as a document,
 * with its name. Captions are plain text. A staged copy that is gone (a
 * redelivery on a container that never staged it) becomes a short note to
 * the person instead of a failure that would be retried to no end.
 */
export async function sendTelegramFile(
  api: Api,
  to: FileDestination,
  part: OutgoingPart,
  options: { signal?: GrammySignal; logger?: Logger | undefined } = {},
): Promise<void> {
  const logger = options.logger ?? silentLogger;
  const file = asOutgoingFile(part);
  if (!file) throw new TypeError('not a file part (expected kind "file" with a path or content)');
  const other = { ...to.params, ...(file.caption ? { caption: file.caption } : {}) };
  if ('content' in file) {
    const upload = new InputFile(Buffer.from(file.content, 'utf8'), file.name);
    await api.sendDocument(to.chatId, upload, other, options.signal);
    return;
  }
  let size: number;
  try {
    size = (await stat(file.path)).size;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
    logger.warn('a staged file is gone; telling the person', { name: file.name });
    await api.sendMessage(to.chatId, texts.fileNotDelivered(file.name), to.params, options.signal);
    return;
  }
  if (isPhotoName(file.name) && size <= MAX_OUTGOING_PHOTO_BYTES) {
    try {
      await api.sendPhoto(to.chatId, new InputFile(file.path, file.name), other, options.signal);
      return;
    } catch (error) {
      if (!isRefusedPhoto(error)) throw error;
      logger.info('Telegram refused an image as a photo; sending it as a document', {
        error: (error as GrammyError).description,
      });
    }
  }
  await api.sendDocument(to.chatId, new InputFile(file.path, file.name), other, options.signal);
}

/** Telegram's complaints about the image itself (dimensions, format), not about the chat. */
function isRefusedPhoto(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /photo|image|dimension/i.test(error.description)
  );
}
