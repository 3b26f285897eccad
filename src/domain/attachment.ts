import { z } from 'zod';
import { AgentError } from './errors.js';

/**
 * A file a person sent (or replied to), as the channel describes it: enough
 * to fetch it later in the worker (ingress never downloads) and to name it to
 * the agent. It travels in the queue payload, so every field is bounded.
 */

export const ATTACHMENT_KINDS = [
  'photo',
  'document',
  'voice',
  'audio',
  'video',
  'animation',
  'video_note',
] as const;
export type AttachmentKind = (typeof ATTACHMENT_KINDS)[number];

export const attachmentSchema = z.object({
  kind: z.enum(ATTACHMENT_KINDS),
  /** The channel's handle to fetch the file with (Telegram's `file_id`). */
  fileId: z.string().min(1).max(512),
  /** Stable across bots and time (Telegram's `file_unique_id`). */
  fileUniqueId: z.string().min(1).max(256),
  /** As the sender's device named it; documents, audio, video and animations have one. */
  fileName: z.string().min(1).max(256).optional(),
  mimeType: z.string().min(1).max(256).optional(),
  /** Bytes, when the channel says; checked against the download cap before fetching. */
  size: z.number().int().nonnegative().optional(),
  durationSeconds: z.number().int().nonnegative().optional(),
});

export type Attachment = z.infer<typeof attachmentSchema>;

/**
 * A file ready for the agent: downloaded to a temporary local path by the
 * worker, which hands it to the runtime in the TurnRequest. The runtime moves
 * it into the conversation's workspace (inbox/) and names it in the prompt.
 */
export interface TurnAttachment {
  kind: AttachmentKind;
  /** Local temporary file; the runtime moves it (whoever made it removes what is left). */
  path: string;
  /** Name to give it in the workspace (sanitised again by the runtime). */
  fileName: string;
  mimeType?: string | undefined;
  size: number;
  /** The file of the message the person replied to, not of their own message. */
  fromReply?: boolean | undefined;
  /** A voice or audio file whose transcript is already the message's text. */
  transcribed?: boolean | undefined;
}

/**
 * A file over the download cap (the operator's, or the Bot API's own 20 MB on
 * Telegram's servers). Nothing of it is kept; the person is told.
 */
export class FileTooLargeError extends AgentError {
  static override readonly errorName = 'FileTooLargeError';
  constructor(
    /** The file's size, when known (bytes). */
    readonly size: number | undefined,
    /** The cap it went over (bytes). */
    readonly limit: number,
  ) {
    super(
      size === undefined
        ? `file is larger than the download limit of ${limit} bytes`
        : `file of ${size} bytes is larger than the download limit of ${limit} bytes`,
    );
  }
}

/** The Bot API's getFile limit on Telegram's own servers (a self-hosted server has none). */
export const TELEGRAM_DOWNLOAD_LIMIT_BYTES = 20 * 1024 * 1024;

/** A name fit for the agent's inbox when the sender's device gave none. */
export function defaultFileName(attachment: Attachment): string {
  if (attachment.fileName) return attachment.fileName;
  const extension = extensionFor(attachment.mimeType) ?? DEFAULT_EXTENSIONS[attachment.kind];
  const base = attachment.kind === 'video_note' ? 'video-message' : attachment.kind;
  return `${base}-${attachment.fileUniqueId.slice(0, 16)}${extension}`;
}

const DEFAULT_EXTENSIONS: Record<AttachmentKind, string> = {
  photo: '.jpg',
  document: '',
  voice: '.ogg',
  audio: '.mp3',
  video: '.mp4',
  animation: '.mp4',
  video_note: '.mp4',
};

function extensionFor(mimeType: string | undefined): string | undefined {
  switch (mimeType) {
    case 'image/jpeg':
      return '.jpg';
    case 'image/png':
      return '.png';
    case 'image/webp':
      return '.webp';
    case 'image/gif':
      return '.gif';
    case 'audio/ogg':
      return '.ogg';
    case 'audio/mpeg':
      return '.mp3';
    case 'audio/mp4':
      return '.m4a';
    case 'video/mp4':
      return '.mp4';
    case 'application/pdf':
      return '.pdf';
    default:
      return undefined;
  }
}
