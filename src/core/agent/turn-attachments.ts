import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants, copyFile, lstat, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import type { TurnAttachment } from '../../domain/attachment.js';
import { errorMessage } from '../../domain/errors.js';
import type { TurnRequest } from '../../domain/turn.js';
import type { Logger } from '../../ports/logger.js';

/**
 * The files a person sent, given to the agent: each is moved from the
 * worker's temporary download into the workspace's `inbox/` folder, under its
 * own (sanitised, never overwriting) name, and named in the prompt with its
 * size, type and path; photos also go to the model as image blocks. Moved
 * inside runTurn, so a workspace store that restores and saves the workspace
 * around the turn keeps them like any file the agent writes.
 */

/** The folder of the workspace people's files go to. */
export const INBOX_DIR = 'inbox';

/** Longest file name kept (bytes of UTF-8 are what file systems count; 255 is the usual limit). */
const MAX_NAME_BYTES = 120;

/** The Messages API's limit for one image; a bigger photo is given as a file only. */
const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

export interface PlacedAttachment extends TurnAttachment {
  /** Path inside the workspace, as the agent is told it (`inbox/report.pdf`). */
  relativePath: string;
}

/** What to give `query()`: the prompt, and `end()` to call once the turn's result is in. */
export interface TurnInput {
  prompt: string | AsyncIterable<SDKUserMessage>;
  /** Ends a streamed prompt (Claude Code waits for more input until it ends). */
  end(): void;
}

/**
 * The turn's prompt with its files in place. Without files it is the
 * request's prompt as it was; with a photo it becomes one streamed user
 * message holding the images and the text.
 */
export async function turnInput(
  request: TurnRequest,
  workspace: string,
  logger: Logger,
): Promise<TurnInput> {
  const attachments = request.attachments ?? [];
  if (attachments.length === 0) return { prompt: request.prompt, end: () => {} };
  const placed = await placeAttachments(workspace, attachments, logger);
  const text = describeAttachments(request.prompt, placed);
  const images = await imageBlocks(workspace, placed, logger);
  if (images.length === 0) return { prompt: text, end: () => {} };
  let end!: () => void;
  const ended = new Promise<void>((resolve) => {
    end = resolve;
  });
  const message: SDKUserMessage = {
    type: 'user',
    message: { role: 'user', content: [...images, { type: 'text', text }] },
    parent_tool_use_id: null,
  };
  async function* stream(): AsyncGenerator<SDKUserMessage> {
    yield message;
    // Open until the turn's result: Claude Code answers tool permission
    // requests over the same input channel.
    await ended;
  }
  return { prompt: stream(), end };
}

/** Moves each file into `<workspace>/inbox/` under a name of its own. */
export async function placeAttachments(
  workspace: string,
  attachments: readonly TurnAttachment[],
  logger: Logger,
): Promise<PlacedAttachment[]> {
  const inbox = join(workspace, INBOX_DIR);
  await ensureRealDirectory(inbox, logger);
  const placed: PlacedAttachment[] = [];
  for (const attachment of attachments) {
    const name = await freeName(inbox, safeFileName(attachment.fileName), attachment.path);
    const destination = join(inbox, name);
    if ((await existing(destination)) === undefined) await move(attachment.path, destination);
    placed.push({ ...attachment, path: destination, relativePath: `${INBOX_DIR}/${name}` });
  }
  return placed;
}

/**
 * A name that is one plain file name: no folders (so no `..`), no control
 * characters, no leading dots (hidden files), not too long; the extension is
 * kept when the name is cut.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  let clean = base
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/[<>:"|?*]/g, '_')
    .trim()
    .replace(/^[.\s]+/, '');
  if (Buffer.byteLength(clean) > MAX_NAME_BYTES) {
    const extension = extname(clean).slice(0, 16);
    let stem = clean.slice(0, clean.length - extension.length);
    while (Buffer.byteLength(stem + extension) > MAX_NAME_BYTES)
      stem = [...stem].slice(0, -1).join('');
    clean = stem + extension;
  }
  return clean || 'file';
}

/**
 * `name`, or `name (2)`, `name (3)`, ... : never an existing file, so nothing
 * is overwritten, unless the existing file already holds the same bytes (the
 * same file placed by an earlier attempt of this turn), which is reused.
 */
async function freeName(dir: string, name: string, source: string): Promise<string> {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let index = 1; index <= 1000; index++) {
    const candidate = index === 1 ? name : `${stem} (${index})${extension}`;
    const found = await existing(join(dir, candidate));
    if (found === undefined) return candidate;
    if (found === 'file' && (await sameContent(join(dir, candidate), source))) return candidate;
  }
  return `${stem}-${Date.now().toString(36)}${extension}`;
}

async function existing(path: string): Promise<'file' | 'other' | undefined> {
  try {
    const stats = await lstat(path);
    return stats.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

async function sameContent(a: string, b: string): Promise<boolean> {
  const [statsA, statsB] = await Promise.all([lstat(a), lstat(b)]);
  if (statsA.size !== statsB.size) return false;
  const [hashA, hashB] = await Promise.all([fileHash(a), fileHash(b)]);
  return hashA === hashB;
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `inbox/` as a real directory. The agent can write its workspace, so it
 * could have made `inbox` a symlink out of it or a file: either is removed
 * (only the link, never what it points to), since the inbox is the runtime's.
 */
async function ensureRealDirectory(path: string, logger: Logger): Promise<void> {
  try {
    const stats = await lstat(path);
    if (stats.isDirectory()) return;
    logger.warn('the workspace inbox was not a folder; replaced', {
      kind: stats.isSymbolicLink() ? 'symlink' : 'file',
    });
    await rm(path, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(path, { recursive: true, mode: 0o700 });
}

/** A rename where it can be; a copy across file systems (/tmp to a mounted data dir). */
async function move(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
    await rm(from, { force: true });
  }
}

const KIND_NAMES: Record<TurnAttachment['kind'], string> = {
  photo: 'photo',
  document: 'file',
  voice: 'voice message',
  audio: 'audio file',
  video: 'video',
  animation: 'animation (GIF)',
  video_note: 'video message',
};

/** The prompt with a list of the files: path, kind, type and size of each. */
export function describeAttachments(prompt: string, placed: readonly PlacedAttachment[]): string {
  const lines = placed.map((file) => {
    const details = [KIND_NAMES[file.kind], file.mimeType, formatSize(file.size)].filter(Boolean);
    const notes = [
      file.kind === 'photo' && file.size <= MAX_IMAGE_BYTES ? 'also shown to you as an image' : '',
      file.transcribed ? 'its transcript is in the message' : '',
      file.fromReply ? 'from the message they replied to' : '',
    ].filter(Boolean);
    return `- ${file.relativePath} (${details.join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''})`;
  });
  const list = ['[Files the person sent, saved in your working directory:]', ...lines].join('\n');
  return prompt.trim() ? `${prompt}\n\n${list}` : list;
}

type ImageBlock = {
  type: 'image';
  source: {
    type: 'base64';
    media_type: 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';
    data: string;
  };
};

async function imageBlocks(
  workspace: string,
  placed: readonly PlacedAttachment[],
  logger: Logger,
): Promise<ImageBlock[]> {
  const blocks: ImageBlock[] = [];
  for (const file of placed) {
    const type = file.mimeType ?? 'image/jpeg';
    if (file.kind !== 'photo' || file.size > MAX_IMAGE_BYTES || !IMAGE_TYPES.has(type)) continue;
    try {
      const data = await readFile(join(workspace, file.relativePath));
      blocks.push({
        type: 'image',
        source: {
          type: 'base64',
          media_type: type as ImageBlock['source']['media_type'],
          data: data.toString('base64'),
        },
      });
    } catch (error) {
      logger.warn('could not read a photo for the model; it is named as a file only', {
        error: errorMessage(error),
      });
    }
  }
  return blocks;
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 102.4) / 10} KB`;
  return `${Math.round(bytes / (1024 * 102.4)) / 10} MB`;
}
