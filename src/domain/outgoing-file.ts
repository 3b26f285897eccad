/**
 * Files the agent sends to the chat. The agent's tool does not send them: it
 * copies each into a staging area and the turn's result lists them, so they
 * go out through the reply outbox after the answer's text, ticked off like
 * its parts, and a redelivery after a crash sends only what was not ticked.
 */

/** The SDK's name for the agent's file-sending tool: server `chat`, tool `send_file`. */
export const SEND_FILE_SERVER = 'chat';
export const SEND_FILE_TOOL = 'send_file';
export const SEND_FILE_TOOL_NAME = `mcp__${SEND_FILE_SERVER}__${SEND_FILE_TOOL}`;

/** Telegram's upload limit for bots (documents); the tool refuses larger files. */
export const MAX_OUTGOING_FILE_BYTES = 50_000_000;
/** Telegram's limit for a photo; a larger image goes as a document. */
export const MAX_OUTGOING_PHOTO_BYTES = 10_000_000;
/** Telegram's limit for a media caption. */
export const MAX_CAPTION_CHARS = 1_024;
/** The most files one turn sends: a runaway loop must not flood the chat (or fill /tmp). */
export const MAX_OUTGOING_FILES_PER_TURN = 10;

/** A file copied out of the workspace for delivery, as the turn's result lists it. */
export interface StagedFile {
  /** Absolute path of the staged copy (not the workspace file). */
  path: string;
  /** The name the person sees. */
  name: string;
  caption?: string | undefined;
  bytes: number;
}

/**
 * A file as an outbox part. The outbox stores parts as string records (see
 * OutgoingPart), so this is one too: `kind: 'file'`, the name shown, an
 * optional caption, and either `path` (a staged copy) or `content` (text
 * made by the service, such as a long answer as `answer.md`).
 */
export type OutgoingFile =
  | { kind: 'file'; name: string; caption?: string; path: string }
  | { kind: 'file'; name: string; caption?: string; content: string };

export function stagedFilePart(file: StagedFile): Readonly<Record<string, string>> {
  return {
    kind: 'file',
    name: file.name,
    path: file.path,
    ...(file.caption ? { caption: file.caption } : {}),
  };
}

export function inlineFilePart(
  name: string,
  content: string,
  caption?: string,
): Readonly<Record<string, string>> {
  return { kind: 'file', name, content, ...(caption ? { caption } : {}) };
}

/** The file a part describes, or null for a message part. */
export function asOutgoingFile(part: Readonly<Record<string, string>>): OutgoingFile | null {
  if (part.kind !== 'file' || typeof part.name !== 'string') return null;
  const caption = typeof part.caption === 'string' ? { caption: part.caption } : {};
  if (typeof part.path === 'string')
    return { kind: 'file', name: part.name, path: part.path, ...caption };
  if (typeof part.content === 'string')
    return { kind: 'file', name: part.name, content: part.content, ...caption };
  return null;
}

/** Image files Telegram shows as photos (others, and large ones, go as documents). */
export function isPhotoName(name: string): boolean {
  return /\.(png|jpe?g|webp)$/i.test(name);
}
