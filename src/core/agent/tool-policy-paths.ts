import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';

/** A directory the file tools may use. */
export interface PathRoot {
  /** Absolute path. */
  path: string;
  /** Whether the file tools may write below it, or only read. */
  writable: boolean;
}

export type PathDecision = { ok: true; absPath: string } | { ok: false; reason: string };

/**
 * Decides whether a file tool may touch `requested`, a path as the model
 * wrote it, resolved against `cwd` (the conversation's working directory,
 * also the first root). Refused: paths that climb with `..` (even ones that
 * would land back inside: they are how escapes are spelt, and nothing needs
 * them), `~` (Claude Code would expand it to a home directory), paths outside
 * every root, writes to a read-only root, and paths that leave the roots
 * through a symbolic link, followed the way the tool would follow it.
 */
export async function checkPath(
  requested: unknown,
  access: 'read' | 'write',
  cwd: string,
  roots: readonly PathRoot[],
): Promise<PathDecision> {
  if (typeof requested !== 'string' || requested.trim() === '') {
    return { ok: false, reason: 'expected a file path' };
  }
  if (requested.includes('\0')) return { ok: false, reason: 'the path contains a NUL character' };
  const where = `the conversation's working directory (${cwd})`;
  if (requested.startsWith('~')) {
    return {
      ok: false,
      reason: `"${requested}": "~" paths are not allowed; use a path inside ${where}`,
    };
  }
  if (requested.split(/[\\/]+/).includes('..')) {
    return {
      ok: false,
      reason: `"${requested}": paths with ".." are not allowed; use a path inside ${where}`,
    };
  }
  const absPath = path.resolve(cwd, requested);
  const usable = roots.filter((root) => access === 'read' || root.writable);
  const realRoots = await Promise.all(usable.map((root) => realOrSelf(root.path)));
  const lexical = usable.some(
    (root, index) => isWithin(root.path, absPath) || isWithin(realRoots[index] ?? '', absPath),
  );
  if (!lexical) {
    const readOnly =
      access === 'write' && roots.some((root) => !root.writable && isWithin(root.path, absPath));
    return {
      ok: false,
      reason: readOnly
        ? `"${requested}" is in a read-only directory; files can only be written inside ${where}`
        : `"${requested}" is outside ${where}; file tools only work inside it`,
    };
  }
  const real = await realTarget(absPath);
  if (real.kind === 'dangling-link') {
    return {
      ok: false,
      reason: `"${requested}" is a symbolic link to something that does not exist; links are not followed`,
    };
  }
  if (!realRoots.some((root) => isWithin(root, real.path))) {
    return {
      ok: false,
      reason: `"${requested}" leads outside ${where} through a symbolic link; links out are not followed`,
    };
  }
  return { ok: true, absPath };
}

/**
 * Checks a glob pattern (Glob's `pattern`, Grep's `glob`). Patterns are
 * matched below the search directory, which checkPath has checked; a pattern
 * that is absolute, climbs with `..` or starts at `~` could reach past it.
 */
export function checkPattern(pattern: unknown): PathDecision | { ok: true } {
  if (pattern === undefined) return { ok: true };
  if (typeof pattern !== 'string') return { ok: false, reason: 'expected a glob pattern' };
  const escapes =
    path.isAbsolute(pattern) ||
    pattern.startsWith('~') ||
    /(^|[\\/{,])\.\.([\\/},]|$)/.test(pattern) ||
    /[{,]\s*[/~]/.test(pattern);
  return escapes
    ? {
        ok: false,
        reason: `the pattern "${pattern}" reaches outside the search directory; use a relative pattern without ".."`,
      }
    : { ok: true };
}

function isWithin(dir: string, candidate: string): boolean {
  if (!dir) return false;
  const relative = path.relative(dir, candidate);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

async function realOrSelf(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch {
    return path.resolve(dir);
  }
}

/**
 * Where `absPath` really is: its real path if it exists, else the real path
 * of its deepest existing ancestor with the rest appended (a file about to be
 * created). A link whose target is missing is reported, since writing
 * through it would create the target wherever it points.
 */
async function realTarget(
  absPath: string,
): Promise<{ kind: 'path'; path: string } | { kind: 'dangling-link' }> {
  try {
    return { kind: 'path', path: await realpath(absPath) };
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  try {
    await lstat(absPath);
    // It exists, yet realpath failed: a link to nowhere.
    return { kind: 'dangling-link' };
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
  const parent = path.dirname(absPath);
  if (parent === absPath) return { kind: 'path', path: absPath };
  const real = await realTarget(parent);
  return real.kind === 'path'
    ? { kind: 'path', path: path.join(real.path, path.basename(absPath)) }
    : real;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
