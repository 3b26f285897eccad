import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBotApi } from '../../../test/support/fake-bot-api.js';
import { testConversation } from '../../../test/support/inbound-messages.js';
import { botApiLite } from './bot-api-lite.js';
import { LiteTelegramChannel } from './lite-channel.js';

let api: FakeBotApi;
let channel: LiteTelegramChannel;

beforeAll(async () => {
  api = await FakeBotApi.start();
  channel = new LiteTelegramChannel(botApiLite({ token: api.token, apiRoot: api.apiRoot }));
});

afterAll(async () => {
  await api?.stop();
});

describe('LiteTelegramChannel', () => {
  it('writes a part into a placeholder once: an edit again changes nothing', async () => {
    const chat = testConversation(301);
    const [part] = channel.formatPlain('Turns: 3 <all of them>');
    const id = await channel.sendPlaceholder(chat, { replyTo: '7' });
    expect(await channel.editPart(chat, id, part as Record<string, string>)).toBe('edited');
    // A redelivery edits the same message again: "not modified" counts as done.
    expect(await channel.editPart(chat, id, part as Record<string, string>)).toBe('edited');
    expect(api.sentMessages(301).map((sent) => sent.text)).toEqual(['Turns: 3 <all of them>']);
    expect(api.callsTo('sendMessage').at(-1)?.params.reply_parameters).toMatchObject({
      message_id: 7,
    });
  });

  it('reports a message gone, and tells a blocked bot from a passing failure', async () => {
    const chat = testConversation(302);
    const [part] = channel.formatPlain('hello');
    expect(await channel.editPart(chat, '999999', part as Record<string, string>)).toBe('missing');
    api.failNext('sendMessage', {
      error_code: 403,
      description: 'Forbidden: bot was blocked by the user',
    });
    const blocked = await channel.send(chat, part as Record<string, string>).catch((e) => e);
    expect(channel.isPermanentFailure(blocked)).toBe(true);
    api.failNext('sendMessage', { error_code: 502, description: 'Bad Gateway' });
    const passing = await channel.send(chat, part as Record<string, string>).catch((e) => e);
    expect(channel.isPermanentFailure(passing)).toBe(false);
  });

  it('splits plain text like the grammY channel, and shows Markdown as typed', () => {
    const parts = channel.formatPlain('x'.repeat(9_000));
    expect(parts.length).toBe(3);
    expect(channel.formatMarkdown('**bold**')).toEqual([{ html: '**bold**', text: '**bold**' }]);
  });
});
