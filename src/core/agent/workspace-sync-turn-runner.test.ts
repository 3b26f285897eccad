import { access, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeTurnRunner } from '../../../test/support/fake-turn-runner.js';
import { fixedConversationIndex } from '../../../test/support/memory-stores.js';
import { LocalWorkspaceStore } from '../../adapters/local/local-workspace-store.js';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { TurnAbandoned, type TurnResult } from '../../domain/turn.js';
import type { ConversationRecord } from '../../ports/conversation-index.js';
import type {
  WorkspaceCheckout,
  WorkspaceSaveReport,
  WorkspaceStore,
} from '../../ports/workspace-store.js';
import { texts } from '../../texts/en.js';
import { workspacePath } from './workspace.js';
import { WorkspaceSyncTurnRunner } from './workspace-sync-turn-runner.js';

const conversation: ConversationRef = { tenant: 't', channel: 'telegram', chatId: '1' };
let root = '';

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'workspace-sync-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A copying store that restores one file and records what each save saw in the directory. */
class RecordingStore implements WorkspaceStore {
  readonly workingCopy = true;
  readonly events: string[] = [];
  savedListings: string[][] = [];
  saveReport: Partial<WorkspaceSaveReport> = {};
  saveError: Error | undefined;

  async checkout(_conversation: ConversationRef, dir: string): Promise<WorkspaceCheckout> {
    this.events.push('checkout');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'restored.txt'), 'from the store');
    return {
      restored: { files: 1, bytes: 14, missing: [] },
      save: async () => {
        this.events.push('save');
        this.savedListings.push((await readdir(dir)).sort());
        if (this.saveError) throw this.saveError;
        return {
          files: 0,
          bytes: 0,
          uploaded: 0,
          uploadedBytes: 0,
          notKept: [],
          skipped: [],
          ...this.saveReport,
        };
      },
    };
  }

  async delete(): Promise<void> {
    this.events.push('delete');
  }
}

const dir = () => workspacePath(root, conversation);
const exists = (target: string) =>
  access(target).then(
    () => true,
    () => false,
  );

function runnerWith(
  store: WorkspaceStore,
  inner: FakeTurnRunner,
  records: Record<string, ConversationRecord> = {},
) {
  return new WorkspaceSyncTurnRunner(inner, {
    store,
    workspaceRoot: root,
    conversations: fixedConversationIndex(records),
    limits: { maxFiles: 10, maxBytes: 5 * 1024 * 1024 },
    now: () => 1_000_000,
  });
}

describe('WorkspaceSyncTurnRunner', () => {
  it('restores before the turn, saves what the turn wrote after it, and removes the working copy', async () => {
    const store = new RecordingStore();
    const inner = new FakeTurnRunner(async () => {
      store.events.push('turn');
      // The agent finds the restored file and writes another.
      expect(await exists(path.join(dir(), 'restored.txt'))).toBe(true);
      await writeFile(path.join(dir(), 'notes.md'), 'notes');
      return { text: 'saved notes.md' };
    });

    const result = await runnerWith(store, inner).runTurn({ conversation, prompt: 'write' });

    expect(store.events).toEqual(['checkout', 'turn', 'save']);
    expect(store.savedListings).toEqual([['notes.md', 'restored.txt']]);
    expect(result.text).toBe('saved notes.md');
    expect(await exists(dir())).toBe(false);
  });

  it('tells the person which files were not kept, whatever the outcome (a notice beside the answer)', async () => {
    const store = new RecordingStore();
    store.saveReport = { notKept: ['big.bin'] };
    const inner = new FakeTurnRunner()
      .next(() => ({ text: 'done' }))
      .next(() => ({ outcome: 'max_turns', errorMessage: texts.maxTurns }))
      .next(() => ({ outcome: 'cancelled', notices: ['an earlier notice'] }));
    const runner = runnerWith(store, inner);
    const notice = texts.workspace.notKept(['big.bin'], 10, 5);

    expect(await runner.runTurn({ conversation, prompt: 'a' })).toMatchObject({
      text: 'done',
      notices: [notice],
    });
    expect(await runner.runTurn({ conversation, prompt: 'b' })).toMatchObject({
      errorMessage: texts.maxTurns,
      notices: [notice],
    });
    expect(await runner.runTurn({ conversation, prompt: 'c' })).toMatchObject({
      outcome: 'cancelled',
      notices: ['an earlier notice', notice],
    });
    expect(notice).toContain('`big.bin`');
  });

  it('keeps the answer and says the files were not saved when the save fails', async () => {
    const store = new RecordingStore();
    store.saveError = new Error('S3 is down');
    const result = await runnerWith(store, new FakeTurnRunner(() => ({ text: 'done' }))).runTurn({
      conversation,
      prompt: 'a',
    });
    expect(result.outcome).toBe('success');
    expect(result.text).toBe('done');
    expect(result.notices).toEqual([texts.workspace.notSaved]);
    expect(await exists(dir())).toBe(false);
  });

  it.each<[string, Partial<TurnResult>, AbortSignal | undefined]>([
    ['failed', { outcome: 'error' }, undefined],
    ['model-unavailable', { outcome: 'model_unavailable' }, undefined],
    ['abandoned', { outcome: 'cancelled' }, AbortSignal.abort(new TurnAbandoned('shutting down'))],
  ])(
    'does not save a %s attempt: its rerun starts from the files before it',
    async (_name, partial, signal) => {
      const store = new RecordingStore();
      await runnerWith(store, new FakeTurnRunner(() => partial)).runTurn({
        conversation,
        prompt: 'a',
        signal,
      });
      expect(store.events).toEqual(['checkout']);
      expect(await exists(dir())).toBe(false);
    },
  );

  it('removes the working copy when the turn throws', async () => {
    const store = new RecordingStore();
    const inner = new FakeTurnRunner(() => {
      throw new Error('boom');
    });
    await expect(runnerWith(store, inner).runTurn({ conversation, prompt: 'a' })).rejects.toThrow(
      'boom',
    );
    expect(await exists(dir())).toBe(false);
  });

  it("deletes an expired conversation's files before restoring, and keeps a live one's", async () => {
    const record = (expiresAt: number) =>
      ({ conversationId: conversationId(conversation), expiresAt }) as ConversationRecord;
    const expired = new RecordingStore();
    await runnerWith(expired, new FakeTurnRunner(), {
      [conversationId(conversation)]: record(999_999),
    }).runTurn({ conversation, prompt: 'a' });
    expect(expired.events).toEqual(['delete', 'checkout', 'save']);

    const live = new RecordingStore();
    await runnerWith(live, new FakeTurnRunner(), {
      [conversationId(conversation)]: record(1_000_001),
    }).runTurn({ conversation, prompt: 'a' });
    expect(live.events).toEqual(['checkout', 'save']);
  });

  it('/new keeps the files: only the session starts afresh', async () => {
    const store = new RecordingStore();
    const inner = new FakeTurnRunner();
    await runnerWith(store, inner).resetConversation(conversation);
    expect(inner.resets).toEqual([conversation]);
    expect(store.events).toEqual([]);
  });

  it('leaves the directory in place with the local store, where it is the kept copy', async () => {
    const inner = new FakeTurnRunner(async () => {
      await writeFile(path.join(dir(), 'notes.md'), 'notes');
      return { text: 'ok' };
    });
    await runnerWith(new LocalWorkspaceStore(root), inner).runTurn({ conversation, prompt: 'a' });
    expect(await exists(path.join(dir(), 'notes.md'))).toBe(true);

    await new LocalWorkspaceStore(root).delete(conversation);
    expect(await exists(dir())).toBe(false);
  });
});
