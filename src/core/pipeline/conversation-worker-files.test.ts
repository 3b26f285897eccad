import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Api } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { FakeTurnRunner } from '../../../test/support/fake-turn-runner.js';
import { testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { InMemoryTurnControl } from '../../adapters/memory/in-memory-turn-control.js';
import { TelegramChannel } from '../../adapters/telegram/telegram-channel.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import { type StagedFile, stagedFilePart } from '../../domain/outgoing-file.js';
import { texts } from '../../texts/en.js';
import { ConversationWorker } from './conversation-worker.js';

/**
 * Files out through the reply outbox, with the real Telegram channel on a
 * fake Bot API: after the answer's text, ticked off like its parts, sent once
 * across a redelivery, and their staged copies deleted once settled.
 */
describe('ConversationWorker: files the agent sends', () => {
  let api: FakeBotApi;
  let dir: string;
  let runner: FakeTurnRunner;
  let outbox: MemoryReplyOutbox;
  let worker: ConversationWorker;

  beforeAll(async () => {
    api = await FakeBotApi.start();
    dir = await mkdtemp(path.join(tmpdir(), 'worker-files-'));
  });
  afterAll(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.calls.length = 0;
    runner = new FakeTurnRunner();
    outbox = new MemoryReplyOutbox();
    worker = new ConversationWorker({
      runner,
      channel: new TelegramChannel(new Api(api.token, { apiRoot: api.apiRoot })),
      outbox,
      turns: new InMemoryTurnControl(),
      conversations: fixedConversationIndex({}),
      maxAttempts: 3,
      progress: false,
    });
  });

  const stage = async (name: string, content: string, caption?: string): Promise<StagedFile> => {
    const turnDir = await mkdtemp(path.join(dir, 'turn-'));
    const file = path.join(turnDir, '1');
    await writeFile(file, content);
    return { path: file, name, caption, bytes: content.length };
  };
  const exists = (file: string) =>
    access(file).then(
      () => true,
      () => false,
    );
  const turn = (message: InboundMessage, attempt = 1) =>
    worker.handle({ kind: 'turn', messages: [message], attempt });

  it('sends the answer, then the files, and deletes the staged copies once delivered', async () => {
    const chart = await stage('chart.png', 'png bytes', 'Sales');
    const notes = await stage('notes.md', '# Notes');
    runner.next(() => ({ text: 'Here they are.', files: [chart, notes] }));
    const result = await turn(testMessage({ id: 'f1', chatId: 21 }));
    expect(result).toMatchObject({ type: 'settled', completed: ['f1'] });
    expect(api.sentMessages(21).map((message) => message.text)).toEqual(['Here they are.']);
    expect(api.sentFiles(21).map((file) => [file.method, file.filename, file.caption])).toEqual([
      ['sendPhoto', 'chart.png', 'Sales'],
      ['sendDocument', 'notes.md', undefined],
    ]);
    // The answer's text went first.
    const order = api.calls.map((call) => call.method).filter((m) => m !== 'sendChatAction');
    expect(order.indexOf('editMessageText')).toBeLessThan(order.indexOf('sendPhoto'));
    expect(await exists(chart.path)).toBe(false);
    expect(await exists(notes.path)).toBe(false);
    expect(await exists(path.dirname(chart.path))).toBe(false);
  });

  it('a redelivery sends only the file not yet ticked off, once', async () => {
    const chart = await stage('chart.png', 'png bytes');
    const message = testMessage({ id: 'f2', chatId: 22 });
    // A crash after the text was delivered and ticked, before the file went.
    await outbox.put('f2', {
      messageIds: ['f2'],
      parts: [{ html: 'Here it is.', text: 'Here it is.' }, stagedFilePart(chart)],
      disposition: 'answered',
    });
    await outbox.markSent('f2', 1);
    const result = await turn(message, 2);
    expect(result).toMatchObject({ type: 'settled', completed: ['f2'] });
    expect(runner.requests).toHaveLength(0);
    expect(api.sentMessages(22)).toEqual([]);
    expect(api.sentFiles(22).map((file) => file.filename)).toEqual(['chart.png']);
    expect(await exists(chart.path)).toBe(false);
    // Handled once more (the queue's delete lost): everything is ticked, nothing goes again.
    await turn(message, 3);
    expect(api.sentFiles(22)).toHaveLength(1);
    expect(api.sentMessages(22)).toEqual([]);
  });

  it('keeps the staged file while delivery is retried, and sends it on the retry', async () => {
    const report = await stage('report.pdf', '%PDF');
    runner.next(() => ({ text: 'Report attached.', files: [report] }));
    api.failNext('sendDocument', { error_code: 500, description: 'Internal Server Error' });
    const message = testMessage({ id: 'f3', chatId: 23 });
    expect(await turn(message)).toMatchObject({ type: 'retry' });
    expect(await exists(report.path)).toBe(true);
    expect(await turn(message, 2)).toMatchObject({ type: 'settled', completed: ['f3'] });
    expect(api.sentFiles(23).map((file) => file.filename)).toEqual(['report.pdf']);
    expect(api.sentMessages(23).map((m) => m.text)).toEqual(['Report attached.']);
    expect(await exists(report.path)).toBe(false);
  });

  it('tells the person when a staged file is gone at delivery (another container), and settles', async () => {
    const lost = await stage('chart.png', 'png');
    await rm(lost.path);
    runner.next(() => ({ text: 'Done.', files: [lost] }));
    expect(await turn(testMessage({ id: 'f4', chatId: 24 }))).toMatchObject({ type: 'settled' });
    expect(api.sentMessages(24).map((m) => m.text)).toEqual([
      'Done.',
      texts.fileNotDelivered('chart.png'),
    ]);
  });

  it('a long answer arrives as its first message and the whole of it as answer.md', async () => {
    // More than four messages even as rich messages (32,768 characters each).
    const long = Array.from({ length: 300 }, (_, index) => `Paragraph ${index}: ${'x'.repeat(500)}`)
      .join('\n\n')
      .concat('\n\nThe end.');
    runner.next(() => ({ text: long }));
    await turn(testMessage({ id: 'f5', chatId: 25 }));
    const messages = api.sentMessages(25);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.text.startsWith('Paragraph 0:')).toBe(true);
    const [file] = api.sentFiles(25);
    expect(file).toMatchObject({
      method: 'sendDocument',
      filename: 'answer.md',
      caption: texts.answerAsFile(long.length),
    });
    expect(file?.data.toString('utf8')).toBe(long);
  });
});
