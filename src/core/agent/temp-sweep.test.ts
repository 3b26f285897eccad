import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentFixture } from '../../../test/support/agent-fixture.js';
import { DEFAULT_STALE_AFTER_MS, sweepStaleTurnDirs, turnDirPrefix } from './temp-sweep.js';

/** A pid no process has: one that just ran and exited. */
function deadPid(): number {
  return spawnSync('true').pid as number;
}

async function leftover(root: string, name: string, ageMs = 0): Promise<void> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'projects'), { recursive: true });
  await writeFile(path.join(dir, 'projects', 'session.jsonl'), '{"a transcript":true}\n');
  const at = new Date(Date.now() - ageMs);
  await utimes(dir, at, at);
}

describe('sweepStaleTurnDirs', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'temp-sweep-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('removes turn directories of dead processes at once, others only once stale, never its own', async () => {
    const dead = deadPid();
    await leftover(root, `${turnDirPrefix(dead)}abc`);
    await leftover(root, `${turnDirPrefix(1)}live`); // pid 1 is always alive
    await leftover(root, `${turnDirPrefix(process.pid)}mine`, 2 * DEFAULT_STALE_AFTER_MS);
    await leftover(root, 'claude-resume-fresh');
    await leftover(root, 'claude-resume-old', DEFAULT_STALE_AFTER_MS + 60_000);
    await leftover(root, 'agent-turn-untagged', DEFAULT_STALE_AFTER_MS + 60_000);
    await leftover(root, `${turnDirPrefix(1)}old-live`, DEFAULT_STALE_AFTER_MS + 60_000);
    await leftover(root, 'unrelated-old', DEFAULT_STALE_AFTER_MS + 60_000);

    const removed = await sweepStaleTurnDirs({ roots: [root, root] });
    expect(removed.map((dir) => path.basename(dir)).sort()).toEqual(
      [
        `${turnDirPrefix(dead)}abc`,
        `${turnDirPrefix(1)}old-live`,
        'agent-turn-untagged',
        'claude-resume-old',
      ].sort(),
    );
    expect((await readdir(root)).sort()).toEqual(
      [
        `${turnDirPrefix(1)}live`,
        `${turnDirPrefix(process.pid)}mine`,
        'claude-resume-fresh',
        'unrelated-old',
      ].sort(),
    );
  });

  it('skips a root it cannot read', async () => {
    expect(await sweepStaleTurnDirs({ roots: [path.join(root, 'missing')] })).toEqual([]);
  });
});

describe('AgentRuntime.start', () => {
  let fixture: AgentFixture;
  beforeEach(async () => {
    fixture = await AgentFixture.create();
  });
  afterEach(() => fixture.close());

  it('removes what killed turns left in its temp root before its first turn', async () => {
    const dead = deadPid();
    await leftover(fixture.tempRoot, `${turnDirPrefix(dead)}killed`);
    await leftover(fixture.tempRoot, 'claude-resume-ancient', DEFAULT_STALE_AFTER_MS + 60_000);
    await fixture.newRuntime().start();
    const names = await readdir(fixture.tempRoot);
    expect(names.filter((name) => /^(agent-turn-|claude-resume-)/.test(name))).toEqual([]);
  });
});
