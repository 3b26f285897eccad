import { createWriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ConversationRef } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { StagedFile } from '../../domain/outgoing-file.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import { conversationDirs, entries, workspacePath } from './workspace.js';

/**
 * Where one turn's outgoing files wait for delivery: a directory of the turn
 * under `<root>/<tenant>/<conversation>/`, holding copies (not the workspace
 * files, which the agent may change or delete before the answer goes out).
 * The worker deletes each copy once the outbox entry listing it is settled;
 * a turn that is not kept (a failed attempt) discards its directory here.
 *
 * Locally the root is under DATA_DIR, so a redelivery after a restart still
 * finds the files. On Lambda it is under /tmp: a redelivery on another
 * container finds nothing, and the person is told the file could not be
 * delivered (the channel's part of the bargain).
 */
export class TurnFileStaging {
  private dir: string | undefined;
  private readonly staged: StagedFile[] = [];

  constructor(
    private readonly root: string,
    private readonly conversation: ConversationRef,
  ) {}

  /** What was staged so far, in call order. */
  files(): StagedFile[] {
    return [...this.staged];
  }

  /**
   * Copies what `source` (an open file) holds into the staging area, at
   * most `maxBytes`: a file that grew past them while being copied is
   * refused (`too-big`) and nothing of it stays.
   */
  async stage(
    source: FileHandle,
    file: { name: string; caption?: string | undefined; maxBytes: number },
  ): Promise<StagedFile | 'too-big'> {
    const dir = await this.turnDir();
    const target = path.join(dir, String(this.staged.length + 1));
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > file.maxBytes) done(new TooBig());
        else done(null, chunk);
      },
    });
    try {
      await pipeline(
        source.createReadStream({ start: 0, end: file.maxBytes, autoClose: false }),
        counter,
        createWriteStream(target, { flags: 'wx', mode: 0o600 }),
      );
    } catch (error) {
      await rm(target, { force: true });
      if (error instanceof TooBig) return 'too-big';
      throw error;
    }
    const staged: StagedFile = {
      path: target,
      name: file.name,
      ...(file.caption ? { caption: file.caption } : {}),
      bytes,
    };
    this.staged.push(staged);
    return staged;
  }

  /** Deletes what this turn staged (a turn not kept sends nothing). Never throws. */
  async discard(logger: Logger = silentLogger): Promise<void> {
    this.staged.length = 0;
    if (!this.dir) return;
    await rm(this.dir, { recursive: true, force: true }).catch((error: unknown) =>
      logger.warn('could not delete staged files', { error: errorMessage(error) }),
    );
    this.dir = undefined;
  }

  private async turnDir(): Promise<string> {
    if (this.dir) return this.dir;
    const parent = workspacePath(this.root, this.conversation);
    await mkdir(parent, { recursive: true, mode: 0o700 });
    this.dir = await mkdtemp(path.join(parent, 'turn-'));
    return this.dir;
  }
}

class TooBig extends Error {}

/**
 * Removes turn directories older than `staleAfterMs` under `root`: what a
 * crash between staging and the outbox left behind. An entry waiting for
 * delivery is retried within minutes, so a week-old directory is orphaned.
 * Never throws; returns how many it removed.
 */
export async function sweepStagedFiles(
  root: string,
  options: { staleAfterMs?: number; now?: number; logger?: Logger } = {},
): Promise<number> {
  const staleAfterMs = options.staleAfterMs ?? STAGED_FILES_STALE_AFTER_MS;
  const now = options.now ?? Date.now();
  let removed = 0;
  for (const parent of await conversationDirs(root)) {
    for (const turn of await entries(parent)) {
      const dir = path.join(parent, turn);
      try {
        if (now - (await stat(dir)).mtimeMs < staleAfterMs) continue;
        await rm(dir, { recursive: true, force: true });
        removed++;
      } catch (error) {
        options.logger?.debug('staged files sweep: skipped', {
          dir,
          error: errorMessage(error),
        });
      }
    }
  }
  return removed;
}

export const STAGED_FILES_STALE_AFTER_MS = 7 * 24 * 60 * 60 * 1000;
