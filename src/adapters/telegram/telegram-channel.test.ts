import { autoRetry } from '@grammyjs/auto-retry';
import { Api } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { MAX_ANSWER_FILE_CHARS, MAX_ANSWER_PARTS, TelegramChannel } from './telegram-channel.js';

describe('TelegramChannel', () => {
  let api: FakeBotApi;
  let channel: TelegramChannel;

  beforeAll(async () => {
    api = await FakeBotApi.start();
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    api.calls.length = 0;
    const client = new Api(api.token, { apiRoot: api.apiRoot });
    client.config.use(autoRetry({ maxRetryAttempts: 2, maxDelaySeconds: 2 }));
    // Today's HTML path; rich messages and drafts: telegram-channel-rich.test.ts.
    channel = new TelegramChannel(client, { richMessages: false });
  });

  it('sends formatted parts into the right topic, replying where asked', async () => {
    const [part] = channel.formatMarkdown('**Done**: `x < y`');
    await channel.send(testConversation(-100, 12), part ?? {}, { replyTo: '77' });
    const [call] = api.callsTo('sendMessage');
    expect(call?.params).toMatchObject({
      chat_id: '-100',
      text: '<b>Done</b>: <code>x &lt; y</code>',
      parse_mode: 'HTML',
      message_thread_id: 12,
      reply_parameters: { message_id: 77, allow_sending_without_reply: true },
    });
    expect(api.sentMessages(-100, 12).map((message) => message.text)).toEqual(['Done: x < y']);
  });

  it('delivers by editing: a placeholder replying where asked, the part edited in, an edit repeated changes nothing', async () => {
    const topic = testConversation(-100, 14);
    const [part] = channel.formatMarkdown('**Done**: `x < y`');
    const id = await channel.sendPlaceholder(topic, { replyTo: '77' });
    expect(api.callsTo('sendMessage')[0]?.params).toMatchObject({
      text: '…',
      parse_mode: 'HTML',
      message_thread_id: 14,
      reply_parameters: { message_id: 77, allow_sending_without_reply: true },
    });
    expect(api.callsTo('sendMessage')[0]?.params.disable_notification).toBeUndefined();
    // Not an answer yet: the chat view leaves the bare placeholder out.
    expect(api.sentMessages(-100, 14)).toEqual([]);
    expect(api.visibleMessages(-100, 14).map((message) => message.text)).toEqual(['…']);

    expect(await channel.editPart(topic, id, part ?? {})).toBe('edited');
    expect(api.callsTo('editMessageText')[0]?.params).toMatchObject({
      message_id: Number(id),
      text: '<b>Done</b>: <code>x &lt; y</code>',
      parse_mode: 'HTML',
    });
    // A redelivery edits the same message again: "not modified", which is success.
    expect(await channel.editPart(topic, id, part ?? {})).toBe('edited');
    expect(api.callsTo('editMessageText')[1]?.error?.description).toMatch(/not modified/);
    expect(api.sentMessages(-100, 14).map((message) => [message.text, message.raw])).toEqual([
      ['Done: x < y', '<b>Done</b>: <code>x &lt; y</code>'],
    ]);
  });

  it('edits in plain text when Telegram refuses the formatting, and reports a message that is gone', async () => {
    const chat = testConversation(15);
    const id = await channel.sendPlaceholder(chat);
    api.failNext('editMessageText', {
      error_code: 400,
      description: "Bad Request: can't parse entities: Unsupported start tag",
    });
    const [part] = channel.formatMarkdown('Some *emphasis*');
    expect(await channel.editPart(chat, id, part ?? {})).toBe('edited');
    expect(api.callsTo('editMessageText')[1]?.params.parse_mode).toBeUndefined();
    expect(api.sentMessages(15).map((message) => message.raw)).toEqual(['Some emphasis']);

    await channel.deleteStatus(chat, id);
    expect(await channel.editPart(chat, id, part ?? {})).toBe('missing');
    api.failNext('editMessageText', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    await expect(channel.editPart(chat, '1', part ?? {})).rejects.toThrow(/blocked/);
  });

  it('falls back to plain text when Telegram refuses the formatting', async () => {
    api.failNext('sendMessage', {
      error_code: 400,
      description: "Bad Request: can't parse entities: Unsupported start tag",
    });
    const [part] = channel.formatMarkdown('Some *emphasis*');
    await channel.send(testConversation(5), part ?? {});
    const calls = api.callsTo('sendMessage');
    expect(calls).toHaveLength(2);
    expect(calls[1]?.params.parse_mode).toBeUndefined();
    expect(api.sentMessages(5).map((message) => message.raw)).toEqual(['Some emphasis']);
  });

  it('waits out a flood limit (429) and sends once', async () => {
    api.failNext('sendMessage', {
      error_code: 429,
      description: 'Too Many Requests: retry after 1',
      parameters: { retry_after: 1 },
    });
    await channel.send(testConversation(6), channel.formatPlain('hello')[0] ?? {});
    expect(api.sentMessages(6)).toHaveLength(1);
  });

  it('tells permanent failures (blocked, chat gone) from ones worth retrying', async () => {
    api.failNext('sendMessage', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    const blocked = await channel
      .send(testConversation(7), channel.formatPlain('hi')[0] ?? {})
      .catch((error) => error);
    expect(channel.isPermanentFailure(blocked)).toBe(true);
    api.failNext('sendMessage', {
      error_code: 400,
      description: 'Bad Request: message is too long',
    });
    const other = await channel
      .send(testConversation(7), channel.formatPlain('hi')[0] ?? {})
      .catch((error) => error);
    expect(channel.isPermanentFailure(other)).toBe(false);
  });

  it('shows typing in the topic', async () => {
    await channel.showTyping(testConversation(-100, 3));
    expect(api.callsTo('sendChatAction')[0]?.params).toMatchObject({
      chat_id: '-100',
      action: 'typing',
      message_thread_id: 3,
    });
  });

  it('sends a silent plain-text status message into the topic, edits it and deletes it', async () => {
    const topic = testConversation(-100, 12);
    const id = await channel.sendStatus(topic, 'Working on it… <b>');
    const [sent] = api.callsTo('sendMessage');
    expect(sent?.params).toMatchObject({
      chat_id: '-100',
      text: 'Working on it… <b>',
      message_thread_id: 12,
      disable_notification: true,
    });
    expect(sent?.params.parse_mode).toBeUndefined();

    await channel.editStatus(topic, id, 'Working on it…\n• Reading notes.txt');
    // Telegram's "message is not modified" is not an error here.
    await channel.editStatus(topic, id, 'Working on it…\n• Reading notes.txt');
    expect(api.callsTo('editMessageText')[0]?.params).toMatchObject({
      chat_id: '-100',
      message_id: Number(id),
      text: 'Working on it…\n• Reading notes.txt',
    });

    await channel.deleteStatus(topic, id);
    expect(api.sentMessages(-100, 12)).toEqual([]);
    await expect(channel.deleteStatus(topic, id)).rejects.toThrow(/not found/);
  });

  it('sends a runaway answer as its first message and the rest as answer.md, cut with a note', async () => {
    const huge = 'word '.repeat(1_000_000); // 5 MB: an echo of a huge paste
    const parts = channel.formatMarkdown(huge);
    expect(parts).toHaveLength(2);
    expect(parts[0]?.text?.startsWith('word word')).toBe(true);
    expect(parts[1]).toMatchObject({ kind: 'file', name: 'answer.md' });
    const content = parts[1]?.content ?? '';
    // The file stays small enough for an outbox entry; it says where it was cut.
    expect(content.length).toBeLessThan(MAX_ANSWER_FILE_CHARS + 500);
    expect(content).toMatch(/\(Cut here: the answer was about 5,000,000 characters long/);
    await channel.send(testConversation(77), parts[0] ?? {});
    await channel.sendFile(testConversation(77), parts[1] ?? {});
    expect(api.sentMessages(77)).toHaveLength(1);
    expect(api.sentFiles(77).map((file) => file.filename)).toEqual(['answer.md']);
    // Plain texts are bounded the same way.
    expect(channel.formatPlain(huge).map((part) => part.name)).toEqual([undefined, 'answer.txt']);
  });

  it('sends an answer that fits in MAX_ANSWER_PARTS messages whole', () => {
    const paragraph = `${'x'.repeat(3_000)}\n\n`;
    const parts = channel.formatMarkdown(paragraph.repeat(MAX_ANSWER_PARTS));
    expect(parts).toHaveLength(MAX_ANSWER_PARTS);
    expect(parts.some((part) => part.text?.includes('Cut here'))).toBe(false);
  });
});
