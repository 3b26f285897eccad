import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../../domain/errors.js';
import type { IssueSink } from './issues.js';

/** What reading an optional file found. */
export type TextRead =
  | { kind: 'missing' }
  | { kind: 'text'; text: string }
  | { kind: 'unreadable'; reason: string };

/** Reads a UTF-8 file; a missing file is an answer, not an exception. */
export async function readText(absPath: string): Promise<TextRead> {
  try {
    const text = await readFile(absPath, 'utf8');
    // A byte-order mark from some editors would otherwise break JSON.parse and
    // the frontmatter fence.
    return { kind: 'text', text: text.startsWith('\uFEFF') ? text.slice(1) : text };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { kind: 'missing' };
    if (errorCode(error) === 'EISDIR') return { kind: 'unreadable', reason: 'is a directory' };
    return { kind: 'unreadable', reason: errorMessage(error) };
  }
}

/** Marks a JSON file that exists but could not be used; its problem is already recorded. */
export const INVALID = Symbol('invalid');

/**
 * Reads and parses an optional JSON file of the configuration directory.
 * Returns undefined when the file does not exist.
 */
export async function readJsonFile(
  dir: string,
  file: string,
  sink: IssueSink,
): Promise<unknown | typeof INVALID> {
  const read = await readText(path.join(dir, file));
  if (read.kind === 'missing') return undefined;
  if (read.kind === 'unreadable') {
    sink.add(file, [], `cannot read the file: ${read.reason}`);
    return INVALID;
  }
  try {
    return JSON.parse(read.text) as unknown;
  } catch (error) {
    sink.add(file, [], `not valid JSON: ${errorMessage(error)}`);
    return INVALID;
  }
}

/** Where a relative reference points, or why it may not be followed. */
export type ResolvedInside = { ok: true; absPath: string } | { ok: false; reason: string };

/**
 * Resolves `relative` against the configuration directory and refuses anything
 * that leaves it, by `..`, by an absolute path, or through a symbolic link:
 * the directory is what gets shipped and reviewed, so it must be self-contained.
 * The file must exist and be a regular file.
 */
export async function resolveFileInside(dir: string, relative: string): Promise<ResolvedInside> {
  if (path.isAbsolute(relative)) {
    return {
      ok: false,
      reason: `expected a path relative to the configuration directory, got "${relative}"`,
    };
  }
  const absPath = path.resolve(dir, relative);
  if (!isInside(dir, absPath)) {
    return { ok: false, reason: `"${relative}" points outside the configuration directory` };
  }
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(absPath);
  } catch (error) {
    if (errorCode(error) === 'ENOENT')
      return { ok: false, reason: `file "${relative}" does not exist` };
    return { ok: false, reason: `cannot read "${relative}": ${errorMessage(error)}` };
  }
  if (!info.isFile()) return { ok: false, reason: `"${relative}" is not a regular file` };
  const [realDir, realFile] = await Promise.all([realpath(dir), realpath(absPath)]);
  if (!isInside(realDir, realFile)) {
    return {
      ok: false,
      reason: `"${relative}" is a link to a file outside the configuration directory`,
    };
  }
  return { ok: true, absPath };
}

function isInside(dir: string, candidate: string): boolean {
  const relative = path.relative(dir, candidate);
  return (
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

export function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}
