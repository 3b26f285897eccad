import { autoRetry } from '@grammyjs/auto-retry';
import { Api } from 'grammy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { TelegramChannel } from './telegram-channel.js';

const TABLE_ANSWER = '## Prices\n\n| item | price |\n|---|---:|\n| tea | 3 |\n| cake | 5 |';

describe('TelegramChannel rich messages and drafts', () => {
  let api: FakeBotApi;
  let channel: TelegramChannel;

  beforeAll(async () => {
    api = await FakeBotApi.start();
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    api.calls.length = 0;
    api.setRichMessages(true);
    api.unknownMethods.clear();
    const client = new Api(api.token, { apiRoot: api.apiRoot });
    client.config.use(autoRetry({ maxRetryAttempts: 2, maxDelaySeconds: 2 }));
    channel = new TelegramChannel(client);
  });

  it("delivers Markdown as a rich message by editing a rich placeholder, the agent's Markdown as written", async () => {
    const chat = testConversation(21);
    const parts = channel.formatMarkdown(TABLE_ANSWER);
    expect(parts).toEqual([{ markdown: TABLE_ANSWER }]);
    const part = parts[0] ?? {};
    const id = await channel.sendPlaceholder(chat, { part });
    expect(api.callsTo('sendRichMessage')[0]?.params.rich_message).toEqual({ markdown: '…' });
    expect(api.callsTo('sendMessage')).toEqual([]);
    expect(await channel.editPart(chat, id, part)).toBe('edited');
    expect(api.callsTo('editMessageText')[0]?.params).toMatchObject({
      message_id: Number(id),
      rich_message: { markdown: TABLE_ANSWER },
    });
    // A redelivery edits the same message again: "not modified", which is success.
    expect(await channel.editPart(chat, id, part)).toBe('edited');
    expect(api.callsTo('editMessageText')[1]?.error?.description).toMatch(/not modified/);
    const [shown] = api.sentMessages(21);
    expect(shown?.raw).toBe(TABLE_ANSWER);
    expect(shown?.parseMode).toBe('rich');
  });

  it('splits an answer beyond one rich message on block boundaries', () => {
    const paragraph = `${'word '.repeat(999)}word`;
    const markdown = Array.from({ length: 8 }, () => paragraph).join('\n\n');
    const parts = channel.formatMarkdown(markdown);
    expect(parts).toHaveLength(2);
    expect(parts.map((part) => part.markdown).join('\n\n')).toBe(markdown);
  });

  it('falls back to HTML on a Bot API without rich messages, and remembers it', async () => {
    api.setRichMessages(false);
    const chat = testConversation(22);
    const [part] = channel.formatMarkdown(TABLE_ANSWER);
    const id = await channel.sendPlaceholder(chat, { part });
    // The rich placeholder failed (404); an HTML one took its place.
    expect(api.callsTo('sendRichMessage')[0]?.error?.error_code).toBe(404);
    expect(api.callsTo('sendMessage')[0]?.params).toMatchObject({ text: '…', parse_mode: 'HTML' });
    expect(await channel.editPart(chat, id, part ?? {})).toBe('fallback');
    const fallback = channel.fallbackParts(part ?? {});
    expect(fallback.every((piece) => typeof piece.html === 'string')).toBe(true);
    expect(await channel.editPart(chat, id, fallback[0] ?? {})).toBe('edited');
    expect(api.sentMessages(22).map((message) => message.parseMode)).toEqual(['HTML']);
    // From now on: HTML parts, no rich call paid for.
    const calls = api.calls.length;
    expect(channel.formatMarkdown('**bold**')).toEqual([{ html: '<b>bold</b>', text: 'bold' }]);
    await channel.send(chat, channel.formatMarkdown('again')[0] ?? {});
    expect(api.calls.slice(calls).map((call) => call.method)).toEqual(['sendMessage']);
  });

  it('sends a part Telegram refuses as rich content as HTML, and keeps rich messages on', async () => {
    const chat = testConversation(23);
    const [part] = channel.formatMarkdown(TABLE_ANSWER);
    const id = await channel.sendPlaceholder(chat, { part });
    api.failNext('editMessageText', {
      error_code: 400,
      description: "Bad Request: can't parse rich message",
    });
    expect(await channel.editPart(chat, id, part ?? {})).toBe('fallback');
    expect(channel.formatMarkdown('next')).toEqual([{ markdown: 'next' }]);

    // Without placeholders (send), the fallback goes out message by message.
    api.failNext('sendRichMessage', {
      error_code: 400,
      description: "Bad Request: can't parse rich message",
    });
    await channel.send(chat, part ?? {});
    expect(api.sentMessages(23).at(-1)?.parseMode).toBe('HTML');
    expect(api.sentMessages(23).at(-1)?.text).toContain('cake');
  });

  it('shows drafts with a stop button in private chats only, rich where it can', async () => {
    const content = { markdown: '**Half** an answer', plain: 'Half an answer' };
    expect(await channel.sendDraft(testConversation(24), 7, content)).toBe('shown');
    expect(api.callsTo('sendRichMessageDraft')[0]?.params).toMatchObject({
      chat_id: 24,
      draft_id: 7,
      rich_message: { markdown: '**Half** an answer' },
      can_stop: true,
    });
    expect(await channel.sendDraft(testConversation(-100, 3), 7, content)).toBe('unavailable');
    expect(api.calls).toHaveLength(1);

    // No rich drafts: plain ones.
    api.unknownMethods.add('sendRichMessageDraft');
    expect(await channel.sendDraft(testConversation(24), 8, content)).toBe('shown');
    expect(await channel.sendDraft(testConversation(24), 8, content)).toBe('shown');
    expect(api.drafts(24).slice(1)).toEqual([
      { draftId: 8, text: 'Half an answer', rich: false, canStop: true },
      { draftId: 8, text: 'Half an answer', rich: false, canStop: true },
    ]);
    expect(api.callsTo('sendRichMessageDraft')).toHaveLength(2);
  });

  it('reports flood control on a draft as a wait, and a Bot API without drafts as unavailable', async () => {
    const content = { markdown: 'x', plain: 'x' };
    // Longer than the client's own retries wait.
    api.floodNext('sendRichMessageDraft', 5);
    expect(await channel.sendDraft(testConversation(25), 1, content)).toEqual({
      retryAfterMs: 5_000,
    });
    api.unknownMethods.add('sendRichMessageDraft');
    api.unknownMethods.add('sendMessageDraft');
    expect(await channel.sendDraft(testConversation(25), 1, content)).toBe('unavailable');
    const calls = api.calls.length;
    expect(await channel.sendDraft(testConversation(25), 1, content)).toBe('unavailable');
    expect(api.calls).toHaveLength(calls);
  });
});
