import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Reading and writing a working directory for a store that copies it, without
 * ever leaving it: symbolic links are neither followed nor kept (a link to
 * /etc/passwd would otherwise upload the host's file), and paths from a saved
 * manifest are checked before anything is written under them.
 */

/** A regular file found in a working directory. */
export interface LocalFile {
  /** Relative, `/`-separated. */
  path: string;
  size: number;
  /** Permission bits only. */
  mode: number;
  /**
   * Changes whenever the content may have: inode, size, mtime and ctime. The
   * ctime cannot be set back from user space, so a file rewritten with its
   * old mtime still shows as changed.
   */
  fingerprint: string;
}

export interface DirectoryListing {
  files: LocalFile[];
  /** Symbolic links, sockets, devices and the like, by relative path. */
  skipped: string[];
}

function fingerprintOf(stats: Stats): string {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/** Every regular file under `root` (which need not exist), sorted by path. */
export async function listFiles(root: string): Promise<DirectoryListing> {
  const files: LocalFile[] = [];
  const skipped: string[] = [];
  const walk = async (relative: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(path.join(root, relative), { withFileTypes: true });
    } catch (error) {
      if (relative === '' && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      // Dirent types come from lstat: a link to a directory is a link here.
      if (entry.isDirectory()) {
        await walk(child);
      } else if (entry.isFile()) {
        const stats = await lstat(path.join(root, child));
        if (!stats.isFile()) {
          skipped.push(child);
          continue;
        }
        files.push({
          path: child,
          size: stats.size,
          mode: stats.mode & 0o777,
          fingerprint: fingerprintOf(stats),
        });
      } else {
        skipped.push(child);
      }
    }
  };
  await walk('');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  skipped.sort();
  return { files, skipped };
}

/** A regular file's content; refuses (ELOOP) if the path's last part has become a link. */
export async function readLocalFile(root: string, relative: string): Promise<Buffer> {
  const handle = await open(
    resolveInside(root, relative),
    constants.O_RDONLY | constants.O_NOFOLLOW,
  );
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${relative} is not a regular file`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Writes a new file (never over an existing entry, never through a link) and
 * returns its fingerprint as written.
 */
export async function writeLocalFile(
  root: string,
  relative: string,
  data: Uint8Array,
  mode: number,
): Promise<string> {
  const target = resolveInside(root, relative);
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const handle = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.writeFile(data);
    await handle.chmod(mode & 0o777);
    return fingerprintOf(await handle.stat());
  } finally {
    await handle.close();
  }
}

/** Whether `relative` is a plain relative path that stays inside its root. */
export function isSafeRelativePath(relative: string): boolean {
  if (relative.length === 0 || relative.length > 4096 || relative.includes('\0')) return false;
  if (relative.startsWith('/')) return false;
  return relative.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
}

function resolveInside(root: string, relative: string): string {
  if (!isSafeRelativePath(relative)) throw new Error(`unsafe workspace path: ${relative}`);
  return path.join(root, ...relative.split('/'));
}
