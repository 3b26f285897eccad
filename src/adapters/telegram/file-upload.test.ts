import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Api } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { inlineFilePart, stagedFilePart } from '../../domain/outgoing-file.js';
import { texts } from '../../texts/en.js';
import { TelegramChannel } from './telegram-channel.js';

describe('TelegramChannel.sendFile', () => {
  let api: FakeBotApi;
  let channel: TelegramChannel;
  let dir: string;

  beforeAll(async () => {
    api = await FakeBotApi.start();
    dir = await mkdtemp(path.join(tmpdir(), 'file-upload-'));
  });
  afterAll(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    api.calls.length = 0;
    channel = new TelegramChannel(new Api(api.token, { apiRoot: api.apiRoot }));
  });

  const staged = async (name: string, content: string | Buffer, caption?: string) => {
    const file = path.join(dir, `${Math.random()}`);
    await writeFile(file, content);
    return stagedFilePart({ path: file, name, caption, bytes: content.length });
  };

  it('uploads a file as a document with its name and caption, into the topic, replying where asked', async () => {
    const part = await staged('report.pdf', '%PDF-1.7 fake', 'The Q3 report');
    await channel.sendFile(testConversation(-100, 12), part, { replyTo: '77' });
    const [call] = api.callsTo('sendDocument');
    expect(call?.params).toMatchObject({
      chat_id: '-100',
      message_thread_id: '12',
      caption: 'The Q3 report',
      reply_parameters: { message_id: 77, allow_sending_without_reply: true },
    });
    const [sent] = api.sentFiles(-100);
    expect(sent).toMatchObject({ method: 'sendDocument', filename: 'report.pdf', threadId: 12 });
    expect(sent?.data.toString()).toBe('%PDF-1.7 fake');
    expect(call?.params.parse_mode).toBeUndefined();
  });

  it('sends PNG, JPEG and WebP images as photos; a large image or another file type as a document', async () => {
    await channel.sendFile(testConversation(5), await staged('chart.png', 'png bytes', 'Sales'));
    await channel.sendFile(testConversation(5), await staged('photo.JPG', 'jpg bytes'));
    await channel.sendFile(testConversation(5), await staged('big.png', Buffer.alloc(10_000_001)));
    await channel.sendFile(testConversation(5), await staged('drawing.svg', '<svg/>'));
    expect(api.sentFiles(5).map((file) => [file.method, file.filename, file.caption])).toEqual([
      ['sendPhoto', 'chart.png', 'Sales'],
      ['sendPhoto', 'photo.JPG', undefined],
      ['sendDocument', 'big.png', undefined],
      ['sendDocument', 'drawing.svg', undefined],
    ]);
    expect(api.sentFiles(5)[0]?.data.toString()).toBe('png bytes');
  });

  it('sends an image Telegram refuses as a photo again as a document', async () => {
    api.failNext('sendPhoto', {
      error_code: 400,
      description: 'Bad Request: PHOTO_INVALID_DIMENSIONS',
    });
    await channel.sendFile(testConversation(6), await staged('wide.png', 'png bytes', 'Wide'));
    expect(api.sentFiles(6).map((file) => [file.method, file.filename, file.caption])).toEqual([
      ['sendDocument', 'wide.png', 'Wide'],
    ]);
  });

  it('sends inline content (a long answer) as a document of that name', async () => {
    await channel.sendFile(
      testConversation(7),
      inlineFilePart('answer.md', '# Report\n\nÜber alles', 'The whole answer'),
    );
    const [sent] = api.sentFiles(7);
    expect(sent).toMatchObject({ filename: 'answer.md', caption: 'The whole answer' });
    expect(sent?.data.toString('utf8')).toBe('# Report\n\nÜber alles');
  });

  it('tells the person when a staged file is gone (a redelivery on another container), without failing', async () => {
    const part = stagedFilePart({ path: path.join(dir, 'gone'), name: 'chart.png', bytes: 3 });
    await channel.sendFile(testConversation(8), part);
    expect(api.sentFiles(8)).toEqual([]);
    expect(api.sentMessages(8).map((message) => message.text)).toEqual([
      texts.fileNotDelivered('chart.png'),
    ]);
  });

  it('passes a permanent failure on to the worker', async () => {
    api.failNext('sendDocument', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    const error = await channel
      .sendFile(testConversation(9), await staged('a.txt', 'a'))
      .catch((caught: unknown) => caught);
    expect(channel.isPermanentFailure(error)).toBe(true);
  });
});
