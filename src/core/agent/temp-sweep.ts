import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../../domain/errors.js';
import { type Logger, silentLogger } from '../../ports/logger.js';

/**
 * Start-up sweep of what killed turns leave in the temp directory: each turn
 * has a config directory of its own (`agent-turn-<pid>-*`, deleted when the
 * turn ends), and the SDK copies the transcript it resumes into
 * `claude-resume-*` (deleted by the SDK when the query ends). A process
 * killed mid-turn (SIGKILL, out of memory, power) deletes neither, and both
 * hold a full transcript.
 *
 * Several processes may share a temp root (the server and the chat CLI, two
 * servers on one host), so a directory is removed only when it cannot be in
 * use:
 * - a turn directory tagged with the pid of a process that no longer exists
 *   (its owner died; checked with signal 0). Directories of this process are
 *   never touched, nor of any live pid: a reused pid only delays a sweep.
 *   This assumes the processes sharing a temp root share a pid namespace
 *   (one host); containers each get their own temp root.
 * - any other matching directory (untagged turn directories of older
 *   versions, the SDK's `claude-resume-*`, whose owner cannot be known) once
 *   it is older than `staleAfterMs`, far longer than any turn runs.
 */
export interface TempSweepOptions {
  /** Directories to look in (the runtime's temp root, and the OS temp dir the SDK uses). */
  roots: string[];
  /** Untagged directories older than this are removed. Default DEFAULT_STALE_AFTER_MS. */
  staleAfterMs?: number | undefined;
  now?: (() => number) | undefined;
  /** Whether a process exists (injectable for tests). */
  isAlive?: ((pid: number) => boolean) | undefined;
  logger?: Logger | undefined;
}

/** A day: no turn runs that long, and a leftover transcript does not stay longer. */
export const DEFAULT_STALE_AFTER_MS = 24 * 60 * 60 * 1000;

/** Prefix of a turn's config directory, tagged with the pid of the process running the turn. */
export function turnDirPrefix(pid: number = process.pid): string {
  return `agent-turn-${pid}-`;
}

const TAGGED = /^agent-turn-(\d+)-/;
const UNTAGGED = /^(agent-turn-|claude-resume-)/;

/** Removes stale turn directories; returns the paths removed. Never throws. */
export async function sweepStaleTurnDirs(options: TempSweepOptions): Promise<string[]> {
  const logger = options.logger ?? silentLogger;
  const now = options.now ?? Date.now;
  const staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  const isAlive = options.isAlive ?? processExists;
  const removed: string[] = [];
  for (const root of new Set(options.roots)) {
    let names: string[];
    try {
      names = await readdir(root);
    } catch (error) {
      logger.debug('temp sweep: cannot list the directory', { root, error: errorMessage(error) });
      continue;
    }
    for (const name of names) {
      if (!UNTAGGED.test(name)) continue;
      const path = join(root, name);
      try {
        const tagged = TAGGED.exec(name);
        const pid = tagged ? Number(tagged[1]) : undefined;
        if (pid === process.pid) continue;
        const ownerDead = pid !== undefined && !isAlive(pid);
        if (!ownerDead) {
          const info = await stat(path);
          if (!info.isDirectory() || now() - info.mtimeMs < staleAfterMs) continue;
        }
        await rm(path, { recursive: true, force: true });
        removed.push(path);
      } catch (error) {
        logger.warn('temp sweep: could not remove a leftover turn directory', {
          path,
          error: errorMessage(error),
        });
      }
    }
  }
  if (removed.length > 0) {
    logger.info('removed turn directories left by earlier processes', { count: removed.length });
  }
  return removed;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, owned by someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
