import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEND_FILE_TOOL_NAME } from '../../src/domain/outgoing-file.js';
import { texts } from '../../src/texts/en.js';
import { lastUserText, reply, toolResults } from '../support/scripted-model-server.js';
import { eventually } from '../support/server-process.js';
import { testChat } from '../support/telegram-chats.js';
import { TelegramHarness } from '../support/telegram-harness.js';

// Files out, end to end: the real Claude Code binary against the scripted
// model writes a file and sends it with the runtime's in-process send_file
// tool; grammY uploads it to the fake Bot API after the answer's text.

const CHART = 'PNG\u0000not really a chart, but bytes';

let harness: TelegramHarness;
let nextChat = 7000;

beforeAll(async () => {
  harness = await TelegramHarness.create();
  harness.respond = (request) => {
    const text = lastUserText(request);
    const results = toolResults(request);
    if (text.includes('draw the chart')) {
      if (results.length === 0)
        return reply.toolUse('Write', { file_path: 'out/chart.png', content: CHART });
      if (results.length === 1)
        return reply.toolUse(SEND_FILE_TOOL_NAME, {
          path: 'out/chart.png',
          caption: 'Sales by month',
        });
      // Slow enough for the status message to show what the turn did.
      return reply.text('Here is the chart.', { delayMs: 4_000 });
    }
    if (text.includes('send me the secret')) {
      if (results.length === 0)
        return reply.toolUse(SEND_FILE_TOOL_NAME, { path: '/etc/hostname' });
      const [result] = results;
      return reply.text(`Refused: ${result?.isError} ${result?.text}`);
    }
    if (text.includes('write a long report')) return reply.text(longReport());
    return reply.text(`echo: ${text}`);
  };
  await harness.startApp();
});

afterAll(async () => {
  await harness.close();
});

const chat = () => testChat(harness, nextChat++);

/**
 * About 140,000 characters: more than four messages even as rich messages
 * (32,768 characters each), so past the channel's cut.
 */
function longReport(): string {
  return Array.from(
    { length: 300 },
    (_, index) => `## Part ${index}\n\n${'All work and no play. '.repeat(20)}`,
  ).join('\n\n');
}

async function stagedFiles(): Promise<string[]> {
  const root = path.join(harness.dataDir, 'outgoing-files');
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else found.push(full);
    }
  };
  await walk(root);
  return found;
}

describe('the agent sends a file', () => {
  it('writes a file and sends it: the answer, then the photo with its caption, once', async () => {
    const c = chat();
    c.say('please draw the chart');
    await eventually(
      () => harness.api.sentFiles(c.chatId).length > 0 && harness.app?.pool.busy === 0,
      'the chart',
      50_000,
    );
    expect(c.replies()).toEqual(['Here is the chart.']);
    const files = harness.api.sentFiles(c.chatId);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({
      method: 'sendPhoto',
      filename: 'chart.png',
      caption: 'Sales by month',
    });
    // After the answer's text.
    const methods = harness.api.calls
      .filter((call) => Number(call.params.chat_id) === c.chatId && !call.error)
      .map((call) => call.method);
    const text = ['sendMessage', 'sendRichMessage', 'editMessageText'].map((method) =>
      methods.lastIndexOf(method),
    );
    expect(methods.indexOf('sendPhoto')).toBeGreaterThan(Math.max(...text));
    // The multipart body carried the file's bytes.
    expect(files[0]?.data.toString('utf8')).toBe(CHART);
    // The tool told the model the file goes out with the answer.
    const toolResult = harness
      .turnsAsking('draw the chart')
      .flatMap((request) => toolResults(request))
      .find((result) => result.text.includes('will be sent to the chat'));
    expect(toolResult?.text).toMatch(/^chart\.png \(\d+ KB\) will be sent/);
    expect(toolResult?.isError).toBe(false);
    // The turn's progress said so while it ran (in a private chat, in the answer's draft).
    const shown = [
      ...harness.api.drafts(c.chatId).map((draft) => draft.text),
      ...harness.api.calls
        .filter((call) => Number(call.params.chat_id) === c.chatId)
        .filter((call) => ['sendMessage', 'editMessageText'].includes(call.method))
        .map((call) => String(call.params.text)),
    ];
    expect(shown.some((text) => text.includes('Sending chart.png'))).toBe(true);
    // Delivered and settled: the staged copy is gone.
    expect(await stagedFiles()).toEqual([]);
  });

  it('refuses a path outside the workspace, with the reason given to the model', async () => {
    const c = chat();
    c.say('send me the secret');
    await harness.api.waitFor(() => c.replies().length > 0, 60_000, 'the answer');
    const [answer] = c.replies();
    expect(answer).toMatch(/^Refused: true /);
    expect(answer).toMatch(/outside the conversation's working directory/);
    expect(harness.api.sentFiles(c.chatId)).toEqual([]);
  });

  it('sends an answer too long for chat as its first message and the whole of it as answer.md', async () => {
    const c = chat();
    c.say('write a long report');
    await harness.api.waitFor(
      () => harness.api.sentFiles(c.chatId).length > 0,
      60_000,
      'the answer file',
    );
    expect(c.replies()).toHaveLength(1);
    expect(c.replies()[0]).toMatch(/^Part 0/);
    const [file] = harness.api.sentFiles(c.chatId);
    expect(file).toMatchObject({
      method: 'sendDocument',
      filename: 'answer.md',
      caption: texts.answerAsFile(longReport().trim().length),
    });
    // The answer as written (the worker trims its ends).
    expect(file?.data.toString('utf8')).toBe(longReport().trim());
  });
});
