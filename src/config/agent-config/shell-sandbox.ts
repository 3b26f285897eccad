import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import type { Env } from '../env-values.js';

/** Whether Claude Code can run shell commands in its sandbox on this machine. */
export type ShellSandbox =
  | { available: true; kind: 'bubblewrap' | 'seatbelt' }
  | { available: false; reason: string };

/**
 * Finds out whether Claude Code's sandbox can work here. On Linux it needs
 * bubblewrap (`bwrap`) and `socat` on the PATH, and the kernel must let
 * bubblewrap make namespaces, which containers such as Lambda's do not: so
 * bubblewrap is tried, not just found. macOS has its sandbox built in.
 * Claude Code checks again when a turn starts and fails the turn rather than
 * run commands unsandboxed, so a wrong answer here cannot open the shell up.
 */
export async function detectShellSandbox(
  env: Env,
  platform: NodeJS.Platform = process.platform,
): Promise<ShellSandbox> {
  if (platform === 'darwin') return { available: true, kind: 'seatbelt' };
  if (platform !== 'linux') {
    return { available: false, reason: `Claude Code has no shell sandbox on ${platform}` };
  }
  const [bwrap, socat] = await Promise.all([
    findExecutable('bwrap', env.PATH),
    findExecutable('socat', env.PATH),
  ]);
  const missing = [bwrap ? undefined : 'bwrap (bubblewrap)', socat ? undefined : 'socat'].filter(
    (name): name is string => name !== undefined,
  );
  if (!bwrap || missing.length > 0) {
    return { available: false, reason: `not found on the PATH: ${missing.join(', ')}` };
  }
  const failure = await tryBubblewrap(bwrap);
  if (failure) return { available: false, reason: `bubblewrap cannot run here: ${failure}` };
  return { available: true, kind: 'bubblewrap' };
}

/** Whether bubblewrap runs here, and where it is: what the whole-process sandbox needs. */
export type Bubblewrap = { available: true; path: string } | { available: false; reason: string };

/**
 * Finds bubblewrap and tries it, as `detectShellSandbox` does, without
 * needing `socat` (only Claude Code's shell sandbox uses that).
 */
export async function detectBubblewrap(
  env: Env,
  platform: NodeJS.Platform = process.platform,
): Promise<Bubblewrap> {
  if (platform !== 'linux') return { available: false, reason: `no bubblewrap on ${platform}` };
  const bwrap = await findExecutable('bwrap', env.PATH);
  if (!bwrap) return { available: false, reason: 'bwrap (bubblewrap) not found on the PATH' };
  const failure = await tryBubblewrap(bwrap);
  if (failure) return { available: false, reason: `bubblewrap cannot run here: ${failure}` };
  return { available: true, path: bwrap };
}

/** The first executable called `name` on `searchPath`, or null. */
export async function findExecutable(
  name: string,
  searchPath: string | undefined,
): Promise<string | null> {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return null;
}

/** Runs `true` in namespaces like the sandbox's; returns why it failed, or null. */
function tryBubblewrap(bwrap: string): Promise<string | null> {
  const args = [
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
    '--unshare-net',
    '--unshare-pid',
    '--proc',
    '/proc',
    '--',
    'true',
  ];
  return new Promise((resolve) => {
    execFile(bwrap, args, { timeout: 5_000 }, (error, _stdout, stderr) => {
      if (!error) return resolve(null);
      resolve(stderr.trim().split('\n')[0] || error.message);
    });
  });
}
