import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary data directory for a test, and a way to remove it. */
export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sqlite-adapter-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
