import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  createSdkMcpServer,
  type McpSdkServerConfigWithInstance,
  type SdkMcpToolDefinition,
  tool,
} from '@anthropic-ai/claude-agent-sdk';
import { z } from 'zod';
import { errorMessage } from '../../domain/errors.js';
import {
  MAX_CAPTION_CHARS,
  MAX_OUTGOING_FILE_BYTES,
  MAX_OUTGOING_FILES_PER_TURN,
  SEND_FILE_SERVER,
  SEND_FILE_TOOL,
} from '../../domain/outgoing-file.js';
import type { TurnFileStaging } from './file-staging.js';
import { checkPath, type PathRoot } from './tool-policy-paths.js';

/**
 * The agent's tool for sending a file from its working directory to the
 * chat, an in-process MCP server (`mcp__chat__send_file`). It runs in this
 * service's process, outside any sandbox, so it is confined like the file
 * tools (tool-policy-paths.ts: the workspace only, no `..`, no link out) and
 * then once more on the file it actually opened: the last path component is
 * opened without following a link, and where the open file really lives is
 * checked again, so a link swapped into the path after the first check
 * cannot hand it another file.
 *
 * It sends nothing itself: it copies the file into the turn's staging area
 * and the file goes out with the answer, through the reply outbox.
 */

/** An MCP tool's result (the SDK does not export the type by name). */
export type CallToolResult = Awaited<ReturnType<SdkMcpToolDefinition['handler']>>;

export interface SendFileLimits {
  /** Largest file accepted (default: Telegram's 50 MB for bots). */
  maxBytes?: number | undefined;
  /** Most files one turn sends. */
  maxFiles?: number | undefined;
}

export interface SendFileContext extends SendFileLimits {
  /** The conversation's working directory. */
  workspace: string;
  staging: TurnFileStaging;
}

/** What the model gets back: a confirmation, or the reason it was refused (isError). */
export async function sendFile(
  args: { path: unknown; caption?: unknown },
  context: SendFileContext,
): Promise<CallToolResult> {
  const maxBytes = context.maxBytes ?? MAX_OUTGOING_FILE_BYTES;
  const maxFiles = context.maxFiles ?? MAX_OUTGOING_FILES_PER_TURN;
  const caption = typeof args.caption === 'string' ? args.caption.trim() : '';
  if (caption.length > MAX_CAPTION_CHARS) {
    return refused(
      `the caption is ${caption.length} characters long; captions can be at most ${MAX_CAPTION_CHARS}. Shorten it, or put the text in your answer instead`,
    );
  }
  if (context.staging.files().length >= maxFiles) {
    return refused(`at most ${maxFiles} files can be sent in one answer`);
  }
  const roots: PathRoot[] = [{ path: context.workspace, writable: true }];
  const checked = await checkPath(args.path, 'read', context.workspace, roots);
  if (!checked.ok) return refused(checked.reason);
  const requested = String(args.path);

  let handle: FileHandle;
  try {
    // Resolved (a link inside the workspace is fine), then opened without
    // following a link, and without waiting on a FIFO.
    handle = await open(
      await realpath(checked.absPath),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch (error) {
    return refused(openFailure(requested, error));
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return refused(`"${requested}" is not a file`);
    const opened = await openedPath(handle, checked.absPath, stats);
    // Checked again on the file opened: a link swapped into the path after the
    // first check shows here.
    const again = opened
      ? await checkPath(opened, 'read', context.workspace, roots)
      : { ok: false as const, reason: `"${requested}" changed while it was being opened` };
    if (!again.ok) return refused(again.reason);
    if (stats.size === 0) return refused(`"${requested}" is empty; there is nothing to send`);
    if (stats.size > maxBytes) return refused(tooBig(requested, stats.size, maxBytes));

    const name = displayName(requested);
    const staged = await context.staging.stage(handle, {
      name,
      caption: caption || undefined,
      maxBytes,
    });
    if (staged === 'too-big') {
      return refused(
        `"${requested}" grew past the limit of ${megabytes(maxBytes)} while it was being copied`,
      );
    }
    return {
      content: [
        {
          type: 'text',
          text: `${name} (${megabytes(staged.bytes)}) will be sent to the chat right after your answer. Do not send it again.`,
        },
      ],
    };
  } catch (error) {
    return refused(`"${requested}" could not be read: ${errorMessage(error)}`);
  } finally {
    await handle.close();
  }
}

/** The in-process MCP server with the send_file tool, for one turn (SDK `mcpServers`). */
export function createSendFileServer(context: SendFileContext): McpSdkServerConfigWithInstance {
  const maxBytes = context.maxBytes ?? MAX_OUTGOING_FILE_BYTES;
  return createSdkMcpServer({
    name: SEND_FILE_SERVER,
    version: '1.0.0',
    alwaysLoad: true,
    tools: [
      tool(
        SEND_FILE_TOOL,
        `Send a file from your working directory to the person in this chat. PNG, JPEG and WebP images are shown as photos, other files arrive as documents. The file goes out right after your answer, so say what it is in the answer or the caption. Up to ${megabytes(maxBytes)} per file.`,
        {
          path: z.string().describe('Path of the file, relative to your working directory'),
          caption: z
            .string()
            .optional()
            .describe(
              `A short caption shown with the file (at most ${MAX_CAPTION_CHARS} characters)`,
            ),
        },
        (args) => sendFile(args, context),
      ),
    ],
  });
}

/**
 * Where the open file really is: on Linux, what `/proc/self/fd` says of the
 * descriptor itself; elsewhere its real path now, if that is still the file
 * opened (same device and inode). Null when the file moved in between.
 */
async function openedPath(
  handle: FileHandle,
  absPath: string,
  stats: { dev: number; ino: number },
): Promise<string | null> {
  try {
    const linked = await readlink(`/proc/self/fd/${handle.fd}`);
    if (path.isAbsolute(linked)) return linked;
  } catch {
    // No /proc here: fall back to comparing inodes.
  }
  try {
    const real = await realpath(absPath);
    const now = await stat(real);
    return now.dev === stats.dev && now.ino === stats.ino ? real : null;
  } catch {
    return null;
  }
}

function openFailure(requested: string, error: unknown): string {
  switch ((error as { code?: unknown } | null)?.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `"${requested}" does not exist in your working directory`;
    case 'ELOOP':
      return `"${requested}" is a symbolic link; links are not followed, send the file itself`;
    case 'EACCES':
    case 'EPERM':
      return `"${requested}" cannot be read`;
    default:
      return `"${requested}" could not be opened: ${errorMessage(error)}`;
  }
}

function tooBig(requested: string, size: number, maxBytes: number): string {
  return `"${requested}" is too large to send (${megabytes(size)}; the limit is ${megabytes(maxBytes)}). Compress or split it first`;
}

/** The name the person sees: the file's own name, with nothing that breaks an upload header. */
function displayName(requested: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  const name = path.basename(requested).replace(/[\u0000-\u001f\u007f"\\;]/g, '_');
  return name.length > 200 ? `${name.slice(0, 100)}…${name.slice(-99)}` : name;
}

function megabytes(bytes: number): string {
  if (bytes < 1_000_000) return `${Math.max(1, Math.round(bytes / 1000))} KB`;
  return `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, '')} MB`;
}

function refused(reason: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `Not sent: ${reason}.` }] };
}
