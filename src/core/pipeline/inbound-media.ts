import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Attachment,
  defaultFileName,
  FileTooLargeError,
  TELEGRAM_DOWNLOAD_LIMIT_BYTES,
  type TurnAttachment,
} from '../../domain/attachment.js';
import { conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { Channel } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import type { Transcriber } from '../../ports/transcriber.js';
import { texts } from '../../texts/en.js';

/**
 * The files of a batch, made ready for its turn, in the worker (never in
 * ingress, which must answer Telegram within a second): each file is
 * downloaded through the channel to a temporary directory, voice and audio
 * are transcribed when a transcriber is set up, and the runtime is handed
 * the rest (TurnRequest.attachments), which it moves into the workspace's
 * inbox/. A file over the download limit stops the batch with a clear answer
 * before anything is kept. A download that fails otherwise throws: the batch
 * is retried like any failed turn.
 */

/** Default download cap: the Bot API's own limit on Telegram's servers. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = TELEGRAM_DOWNLOAD_LIMIT_BYTES;

export interface MediaSettings {
  /** Largest file fetched, in bytes (MAX_DOWNLOAD_MB). */
  maxDownloadBytes: number;
  /** Speech to text for voice and audio; without one they are kept as files. */
  transcriber?: Transcriber | undefined;
  /** Where downloads wait for the turn. Default: the OS temp dir. */
  tempRoot?: string | undefined;
}

export interface PreparedMedia {
  /** The batch's messages, a transcript in the text of each voice message that got one. */
  messages: InboundMessage[];
  /** Downloaded files for the runtime (TurnRequest.attachments). */
  attachments: TurnAttachment[];
  /** Notes for the person, added below the answer (a recording kept untranscribed). */
  notices: string[];
  /** When set, the batch is answered with this instead of a turn (a file over the limit). */
  refusal?: string | undefined;
  /** Removes what is left of the downloads; call once the turn is over. */
  dispose(): Promise<void>;
}

interface Item {
  message: number;
  attachment: Attachment;
  fromReply: boolean;
}

export async function prepareInboundMedia(
  messages: InboundMessage[],
  context: {
    channel: Channel;
    settings: MediaSettings;
    logger: Logger;
    signal?: AbortSignal | undefined;
    /** A line for the status message ("Downloading report.pdf"). */
    onStep?: ((line: string) => void) | undefined;
  },
): Promise<PreparedMedia> {
  const items = itemsOf(messages);
  const nothing: PreparedMedia = {
    messages,
    attachments: [],
    notices: [],
    dispose: async () => {},
  };
  if (items.length === 0) return nothing;
  const { channel, settings, logger } = context;
  const id = conversationId((messages[0] as InboundMessage).conversation);
  if (!channel.downloadFile) {
    logger.warn('the channel cannot download files; the agent gets the text only', {
      conversationId: id,
    });
    return nothing;
  }
  const limit = settings.maxDownloadBytes;
  // Known too big: refused before a byte is fetched.
  const oversize = items.find(
    (item) => !item.fromReply && item.attachment.size !== undefined && item.attachment.size > limit,
  );
  if (oversize) {
    logger.info('a file is over the download limit; answered without a turn', {
      conversationId: id,
      bytes: oversize.attachment.size,
      limit,
    });
    return {
      ...nothing,
      refusal: texts.media.tooLarge(
        defaultFileName(oversize.attachment),
        oversize.attachment.size,
        limit,
      ),
    };
  }

  const root = settings.tempRoot ?? tmpdir();
  await mkdir(root, { recursive: true });
  await sweepLeftovers(root, logger);
  const dir = await mkdtemp(join(root, MEDIA_DIR_PREFIX));
  const dispose = () => rm(dir, { recursive: true, force: true });
  const prepared = messages.map((message) => ({ ...message }));
  const attachments: TurnAttachment[] = [];
  const notices = new Set<string>();
  try {
    for (const [index, item] of items.entries()) {
      const { attachment } = item;
      const fileName = defaultFileName(attachment);
      const path = join(dir, String(index));
      context.onStep?.(texts.activity.downloading(fileName));
      let bytes: number;
      try {
        ({ bytes } = await channel.downloadFile(attachment.fileId, path, {
          maxBytes: limit,
          signal: context.signal,
        }));
      } catch (error) {
        if (!FileTooLargeError.isInstance(error)) throw error;
        if (item.fromReply) {
          // Only context: the question can be answered without it.
          logger.info('the replied-to file is over the download limit; left out', {
            conversationId: id,
          });
          continue;
        }
        await dispose();
        return {
          ...nothing,
          refusal: texts.media.tooLarge(fileName, error.size ?? attachment.size, error.limit),
        };
      }
      const file: TurnAttachment = {
        kind: attachment.kind,
        path,
        fileName,
        mimeType: attachment.mimeType,
        size: bytes,
        ...(item.fromReply ? { fromReply: true } : {}),
      };
      const speech = attachment.kind === 'voice' || attachment.kind === 'audio';
      if (!speech || item.fromReply) {
        attachments.push(file);
        continue;
      }
      const transcript = await transcribe(file, context, id);
      if (transcript === undefined) {
        notices.add(
          settings.transcriber ? texts.media.transcriptionFailed : texts.media.noTranscription,
        );
        attachments.push(file);
        continue;
      }
      prepared[item.message] = withTranscript(
        prepared[item.message] as InboundMessage,
        attachment.kind === 'voice' ? 'voice message' : 'audio',
        transcript,
      );
      // A voice message is its words; an audio file (music, a recording) stays a file too.
      if (attachment.kind === 'audio') attachments.push({ ...file, transcribed: true });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { messages: prepared, attachments, notices: [...notices], dispose };
}

const MEDIA_DIR_PREFIX = 'agent-media-';

/**
 * Download directories older than this were left by a process that died
 * mid-turn (a live turn moves its files into the workspace when it starts).
 */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;

/** Removes what a crashed worker left, so no conversation's files linger in /tmp. Best effort. */
async function sweepLeftovers(root: string, logger: Logger): Promise<void> {
  try {
    const now = Date.now();
    for (const name of await readdir(root)) {
      if (!name.startsWith(MEDIA_DIR_PREFIX)) continue;
      const path = join(root, name);
      const stats = await stat(path).catch(() => undefined);
      if (stats && now - stats.mtimeMs > LEFTOVER_AGE_MS)
        await rm(path, { recursive: true, force: true });
    }
  } catch (error) {
    logger.debug('could not sweep old downloads', { error: errorMessage(error) });
  }
}

/** The files of a batch: each message's own, then the replied-to ones; each file once. */
function itemsOf(messages: InboundMessage[]): Item[] {
  const items: Item[] = [];
  const seen = new Set<string>();
  const add = (message: number, attachment: Attachment, fromReply: boolean) => {
    if (seen.has(attachment.fileUniqueId)) return;
    seen.add(attachment.fileUniqueId);
    items.push({ message, attachment, fromReply });
  };
  messages.forEach((message, index) => {
    if (message.body.kind === 'media') {
      for (const attachment of message.body.attachments) add(index, attachment, false);
    }
  });
  messages.forEach((message, index) => {
    if (message.replyTo?.attachment) add(index, message.replyTo.attachment, true);
  });
  return items;
}

async function transcribe(
  file: TurnAttachment,
  context: Parameters<typeof prepareInboundMedia>[1],
  id: string,
): Promise<string | undefined> {
  const { transcriber } = context.settings;
  if (!transcriber) return undefined;
  context.onStep?.(texts.activity.transcribing(file.kind === 'voice' ? 'voice' : 'audio'));
  try {
    return await transcriber.transcribe(
      { path: file.path, fileName: file.fileName, mimeType: file.mimeType },
      { signal: context.signal },
    );
  } catch (error) {
    if (context.signal?.aborted) throw error;
    context.logger.warn('transcription failed; the recording goes to the agent as a file', {
      conversationId: id,
      error: errorMessage(error),
    });
    return undefined;
  }
}

/** The message's text becomes the transcript, marked as such, then the caption. */
function withTranscript(message: InboundMessage, what: string, transcript: string): InboundMessage {
  if (message.body.kind !== 'media') return message;
  const said = `[${what}, transcribed] ${transcript || '(no words recognised)'}`;
  const text = [said, message.body.text.trim()].filter(Boolean).join('\n');
  return { ...message, body: { ...message.body, text } };
}

/**
 * The answer with the notices below it, each its own paragraph (the notices
 * alone when there is no answer). The worker's one way of adding notices:
 * the media's and the turn's (`TurnResult.notices`).
 */
export function withNotices(answer: string, notices: readonly string[]): string {
  return [answer, ...notices].filter((paragraph) => paragraph !== '').join('\n\n');
}
