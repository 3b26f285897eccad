import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConversationRef } from '../../domain/conversation.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { ensureWorkspace } from './workspace.js';
import { OneWorkspaceTurnRunner, removeOtherWorkspaces } from './workspace-sweep.js';

const chat = (chatId: string, tenant = 'test'): ConversationRef => ({
  tenant,
  channel: 'telegram',
  chatId,
});

describe('removeOtherWorkspaces', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'workspace-sweep-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("deletes every other conversation's directory, of every tenant, and keeps the current one", async () => {
    const current = await ensureWorkspace(root, chat('a'));
    await writeFile(path.join(current, 'mine.txt'), 'kept');
    const others = [
      await ensureWorkspace(root, chat('b')),
      await ensureWorkspace(root, chat('c', 'other-tenant')),
    ];

    expect(await removeOtherWorkspaces(root, chat('a'))).toBe(2);

    expect(existsSync(path.join(current, 'mine.txt'))).toBe(true);
    for (const dir of others) expect(existsSync(dir)).toBe(false);
  });

  it('does nothing when there is no workspace directory yet', async () => {
    expect(await removeOtherWorkspaces(path.join(root, 'missing'), chat('a'))).toBe(0);
  });

  it('sweeps before a turn, so the turn never sees another conversation, and after it', async () => {
    const seen: boolean[] = [];
    const inner: TurnRunner = {
      runTurn: async (_request: TurnRequest) => {
        seen.push(existsSync(path.join(root, 'test')) && existsSync(other));
        await ensureWorkspace(root, chat('a'));
        await ensureWorkspace(root, chat('late'));
        return {} as TurnResult;
      },
      resetConversation: async () => {},
    };
    const other = await ensureWorkspace(root, chat('b'));

    await new OneWorkspaceTurnRunner(inner, root).runTurn({
      conversation: chat('a'),
      prompt: 'hi',
    });

    expect(seen).toEqual([false]);
    // What the turn left behind for another conversation is gone; the turn's own directory stays.
    expect(await readdir(path.join(root, 'test'))).toEqual([
      path.basename(await ensureWorkspace(root, chat('a'))),
    ]);
  });
});
