import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { lastUserText, reply } from '../support/scripted-model-server.js';
import {
  crash,
  eventually,
  reapOrphans,
  startServer,
  stopProcess,
} from '../support/server-process.js';
import { ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// The delivery contract with the real server process, the real Claude Code
// and a Bot API whose response to the answer is lost when the process is
// killed: whatever moment a crash hits, the chat shows each answer once and
// no "Working on it…" is left behind; nor are the killed turns' directories.

let harness: TelegramHarness;

beforeAll(async () => {
  harness = await TelegramHarness.create();
});

afterAll(async () => {
  await harness.close();
});

describe('exactly-once answers across crashes', () => {
  it('killed mid-turn, then again while the answer is in flight: the answer shows once, no status is left', async () => {
    // A group: its turns show a status message (private chats see a draft instead).
    const chatId = -8101;
    let phase: 'slow' | 'fast' = 'slow';
    harness.respond = (request) => {
      const text = lastUserText(request);
      if (text.includes('twice')) {
        return phase === 'slow'
          ? reply.text('answer from the first run', { delayMs: 30_000 })
          : reply.text('the one answer');
      }
      return reply.text(`echo: ${text}`);
    };
    const orphans: number[] = [];
    onTestFinished(() => reapOrphans(orphans));
    const visible = () => harness.api.visibleMessages(chatId).map((message) => message.text);

    // Run 1: killed while the turn runs and its status message shows.
    const first = startServer(harness.env());
    harness.api.pushUpdate(
      textMessageUpdate({ chatId, text: '@test_agent_bot never say it twice', from: ALLOWED_USER }),
    );
    await eventually(
      () => visible().some((text) => text.startsWith('Working on it')),
      'the status message of the slow turn',
    );
    orphans.push(...(await crash(first)));

    // Run 2: the turn runs again and answers; the response to the edit that
    // writes the answer never arrives, and the process is killed meanwhile.
    phase = 'fast';
    const held = harness.api.hold(
      'editMessageText',
      (params) => Number(params.chat_id) === chatId && params.rich_message !== undefined,
    );
    const second = startServer(harness.env());
    const edit = await Promise.race([
      held.arrived,
      second.exited.then((code) => {
        throw new Error(`the second run exited (${code}): ${second.output.stderr}`);
      }),
    ]);
    expect(String(edit.params.rich_message.markdown)).toBe('the one answer');
    const turnsSoFar = harness.turnsAsking('twice').length;
    orphans.push(...(await crash(second)));
    held.release();

    // Run 3: finishes the delivery; a later message shows the chat carries on.
    const third = startServer(harness.env());
    try {
      harness.api.pushUpdate(
        textMessageUpdate({ chatId, text: '@test_agent_bot and after', from: ALLOWED_USER }),
      );
      await harness.api.waitFor(
        // In a group the model is told who spoke.
        () => visible().includes('echo: Ada: and after'),
        60_000,
        'the next answer',
      );
      expect(visible()).toEqual(['the one answer', 'echo: Ada: and after']);
      // The third run only finished delivering: no turn ran for it again.
      expect(harness.turnsAsking('twice')).toHaveLength(turnsSoFar);
      // The status message of run 1 was taken over by run 2, not a second one sent.
      const statuses = harness.api
        .callsTo('sendMessage')
        .filter(
          (call) =>
            Number(call.params.chat_id) === chatId &&
            String(call.params.text).startsWith('Working on it'),
        );
      expect(statuses).toHaveLength(1);
      // The killed runs' turn directories (transcripts inside) were swept at start.
      const killed = [first.child.pid, second.child.pid].map((pid) => `agent-turn-${pid}-`);
      const left = await readdir(path.join(harness.root, 'tmp'));
      expect(left.filter((name) => killed.some((prefix) => name.startsWith(prefix)))).toEqual([]);
    } finally {
      await stopProcess(third.child, 'SIGTERM');
    }
    expect(await third.exited).toBe(0);
  });
});
