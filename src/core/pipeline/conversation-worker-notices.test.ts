import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner, gatedTurn } from '../../../test/support/fake-turn-runner.js';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { WorkspaceSyncTurnRunner } from '../../core/agent/workspace-sync-turn-runner.js';
import type { ConversationRef } from '../../domain/conversation.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import type { WorkspaceCheckout, WorkspaceStore } from '../../ports/workspace-store.js';
import { texts } from '../../texts/en.js';
import { ConversationWorker, DEFAULT_TEXTS } from './conversation-worker.js';

/** A store that keeps every file but `big.bin`, which is over its limits. */
class OverLimitStore implements WorkspaceStore {
  readonly workingCopy = false;
  async checkout(_conversation: ConversationRef, dir: string): Promise<WorkspaceCheckout> {
    await mkdir(dir, { recursive: true });
    return {
      restored: { files: 0, bytes: 0, missing: [] },
      save: async () => ({
        files: 1,
        bytes: 10,
        uploaded: 1,
        uploadedBytes: 10,
        notKept: ['big.bin'],
        skipped: [],
      }),
    };
  }
  async delete(): Promise<void> {}
}

describe('ConversationWorker: notices of the turn (TurnResult.notices)', () => {
  let root: string;
  let inner: FakeTurnRunner;
  let channel: FakeChannel;
  const notice = texts.workspace.notKept(['big.bin'], 10, 5);

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'worker-notices-'));
    inner = new FakeTurnRunner();
    channel = new FakeChannel();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const worker = (runner: TurnRunner) => {
    const turns = new InMemoryTurnControl(() => 0);
    return {
      turns,
      worker: new ConversationWorker({
        runner,
        channel,
        outbox: new MemoryReplyOutbox(),
        turns,
        conversations: fixedConversationIndex({}),
        maxAttempts: 3,
      }),
    };
  };
  const withStore = () =>
    worker(
      new WorkspaceSyncTurnRunner(inner, {
        store: new OverLimitStore(),
        workspaceRoot: root,
        limits: { maxFiles: 10, maxBytes: 5 * 1024 * 1024 },
      }),
    );

  it('keeps the workspace store\'s "files not kept" below "Stopped." when the turn is stopped', async () => {
    const { worker: w } = withStore();
    const gate = gatedTurn();
    inner.next(gate.turn);
    const running = w.handle({
      kind: 'turn',
      messages: [testMessage({ id: 'long', text: 'write a big file' })],
      attempt: 1,
    });
    await gate.started;
    await w.handle({
      kind: 'control',
      messages: [testMessage({ body: command('stop') })],
      attempt: 1,
    });
    expect(await running).toMatchObject({ type: 'settled', completed: ['long'] });
    expect(channel.texts()).toEqual([`${DEFAULT_TEXTS.stopped}\n\n${notice}`]);
  });

  it('puts them below the answer and below the notice of a limit', async () => {
    const { worker: w } = withStore();
    inner
      .next(() => ({ text: 'Done.' }))
      .next(() => ({ outcome: 'max_turns', errorMessage: texts.maxTurns }));
    await w.handle({ kind: 'turn', messages: [testMessage({ id: 'a', text: 'a' })], attempt: 1 });
    await w.handle({ kind: 'turn', messages: [testMessage({ id: 'b', text: 'b' })], attempt: 1 });
    expect(channel.texts()).toEqual([`Done.\n\n${notice}`, `${texts.maxTurns}\n\n${notice}`]);
  });

  it('sends them when a turn goes on in a continuation, with or without its notice', async () => {
    const runner = new FakeTurnRunner()
      .next(() => ({ outcome: 'cancelled', continued: true, errorMessage: texts.stillWorking }))
      .next(() => ({ outcome: 'cancelled', continued: true, notices: [notice] }))
      .next(() => ({ outcome: 'cancelled', continued: true }));
    const { worker: w } = worker(runner);
    for (const id of ['a', 'b', 'c'])
      await w.handle({ kind: 'turn', messages: [testMessage({ id, text: id })], attempt: 1 });
    expect(channel.texts()).toEqual([texts.stillWorking, notice]);
  });
});
