import { describe, expect, it } from 'vitest';
import { textMessageUpdate } from '../../../test/support/fake-bot-api.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import { MAX_TEXT_CHARS, parseInboundMessage } from '../../domain/inbound-message.js';
import { type NormalizeContext, normalizeUpdate } from './normalize-update.js';

const bot = { id: 999, username: 'agent_bot' };
const allowAll: AccessPolicy = {
  allowedUserIds: new Set(),
  allowedChatIds: new Set(),
  openToAll: true,
};
const context = (access: AccessPolicy = allowAll): NormalizeContext => ({
  bot,
  tenant: 't1',
  access,
  now: 5,
});
const user = { id: 42, first_name: 'Ada', last_name: 'L' };

function enqueued(update: Record<string, unknown>, access?: AccessPolicy) {
  const result = normalizeUpdate({ update_id: 7, ...update }, context(access));
  if (result.action !== 'enqueue') throw new Error(`ignored: ${result.reason}`);
  return result.message;
}

function ignored(update: Record<string, unknown>): string {
  const result = normalizeUpdate({ update_id: 7, ...update }, context());
  if (result.action !== 'ignore')
    throw new Error(`enqueued: ${JSON.stringify(result.message.body)}`);
  return result.reason;
}

describe('normalizeUpdate', () => {
  it('turns a private text into a message of its chat, keyed by bot and update id', () => {
    const message = enqueued(
      textMessageUpdate({ chatId: 42, text: ' hello ', from: user, messageId: 3 }),
    );
    expect(message).toEqual({
      id: 'telegram:999:7',
      conversation: { tenant: 't1', channel: 'telegram', chatId: '42' },
      chatType: 'private',
      messageId: '3',
      sender: { id: '42', name: 'Ada L' },
      receivedAt: 5,
      body: { kind: 'text', text: 'hello' },
    });
  });

  it('recognises the commands, also addressed as /cmd@bot, and passes unknown ones on as text', () => {
    expect(enqueued(textMessageUpdate({ chatId: 42, text: '/new' })).body).toEqual({
      kind: 'command',
      command: 'new',
      args: '',
    });
    expect(
      enqueued(textMessageUpdate({ chatId: -1, text: '/status@agent_bot' })).body,
    ).toMatchObject({
      command: 'status',
    });
    expect(enqueued(textMessageUpdate({ chatId: 42, text: '/summarize this' })).body).toEqual({
      kind: 'text',
      text: '/summarize this',
    });
    expect(ignored(textMessageUpdate({ chatId: -1, text: '/status@other_bot' }))).toMatch(
      /another bot/,
    );
  });

  it('in groups answers only mentions, replies to the bot and commands', () => {
    expect(ignored(textMessageUpdate({ chatId: -100, text: 'chatting among ourselves' }))).toMatch(
      /not addressed/,
    );
    const mentioned = enqueued(
      textMessageUpdate({ chatId: -100, text: '@agent_bot what time is it?', from: user }),
    );
    expect(mentioned.body).toEqual({ kind: 'text', text: 'what time is it?' });
    expect(mentioned.chatType).toBe('group');
    const replied = enqueued(
      textMessageUpdate({ chatId: -100, text: 'and then?', replyToBot: { botId: bot.id } }),
    );
    expect(replied.body).toEqual({ kind: 'text', text: 'and then?' });
    expect(ignored(textMessageUpdate({ chatId: -100, text: 'hey @someone_else' }))).toMatch(
      /not addressed/,
    );
  });

  it('makes each forum topic its own conversation, and a topic root is not a reply to the bot', () => {
    const inTopic = enqueued(
      textMessageUpdate({ chatId: -100, threadId: 12, text: '@agent_bot hi' }),
    );
    expect(inTopic.conversation).toEqual({
      tenant: 't1',
      channel: 'telegram',
      chatId: '-100',
      threadId: '12',
    });
    // Telegram marks topic messages as replies to the topic's first message.
    const rootReply = textMessageUpdate({
      chatId: -100,
      threadId: 12,
      text: 'hi all',
      replyToBot: { botId: bot.id, messageId: 12 },
    });
    expect(ignored(rootReply)).toMatch(/not addressed/);
  });

  it('refuses people off the allowlist with how to get in, without passing on their words', () => {
    const policy: AccessPolicy = {
      allowedUserIds: new Set(['1']),
      allowedChatIds: new Set(['-5']),
      openToAll: false,
    };
    const result = normalizeUpdate(
      { update_id: 1, ...textMessageUpdate({ chatId: 42, text: 'secret plans', from: user }) },
      context(policy),
    );
    expect(result).toMatchObject({ action: 'enqueue', refused: { userId: '42', chatId: '42' } });
    const body = result.action === 'enqueue' ? result.message.body : undefined;
    expect(body?.kind).toBe('refused');
    expect(JSON.stringify(body)).not.toContain('secret plans');
    expect(JSON.stringify(body)).toContain('42');
    // The operator's side (setting names, chat ids) is logged by the intake, not told to a stranger.
    expect(JSON.stringify(body)).not.toContain('TELEGRAM_ALLOWED_USER_IDS');
    // Allowed by user id, or by chat id.
    expect(
      enqueued(textMessageUpdate({ chatId: 1, text: 'x', from: { id: 1 } }), policy).body.kind,
    ).toBe('text');
    expect(
      enqueued(textMessageUpdate({ chatId: -5, text: '/help', from: user }), policy).body.kind,
    ).toBe('command');
  });

  it('answers stickers, photos and private edits with a notice, and ignores what nobody expects an answer to', () => {
    const sticker = {
      message: {
        message_id: 1,
        date: 0,
        chat: { id: 42, type: 'private' },
        from: user,
        sticker: {},
      },
    };
    expect(enqueued(sticker).body).toEqual({ kind: 'unsupported', what: 'stickers' });
    const photo = {
      message: {
        message_id: 1,
        date: 0,
        chat: { id: 42, type: 'private' },
        from: user,
        photo: [],
        caption: 'look',
      },
    };
    expect(enqueued(photo).body).toEqual({ kind: 'unsupported', what: 'photos' });
    const edit = {
      edited_message: {
        message_id: 1,
        date: 0,
        edit_date: 1,
        chat: { id: 42, type: 'private' },
        from: user,
        text: 'x',
      },
    };
    expect(enqueued(edit).body).toEqual({ kind: 'unsupported', what: 'edits to messages' });

    expect(
      ignored({
        channel_post: { message_id: 1, date: 0, chat: { id: -3, type: 'channel' }, text: 'news' },
      }),
    ).toMatch(/channel_post/);
    expect(
      ignored({
        message: {
          message_id: 1,
          date: 0,
          chat: { id: -100, type: 'supergroup' },
          from: user,
          new_chat_members: [],
        },
      }),
    ).toMatch(/service/);
    expect(
      ignored({
        message: {
          message_id: 1,
          date: 0,
          chat: { id: 42, type: 'private' },
          from: { id: 5, is_bot: true },
          text: 'hi',
        },
      }),
    ).toMatch(/bot/);
    expect(ignored({ message: { chat: 'garbage' } })).toMatch(/malformed/);
    expect(normalizeUpdate({ nonsense: true }, context())).toEqual({
      action: 'ignore',
      reason: 'not an update',
    });
  });

  it('refuses a text longer than one turn takes, saying so, without passing it on', () => {
    const long = `${'a'.repeat(MAX_TEXT_CHARS)}b`;
    const result = normalizeUpdate(
      { update_id: 1, ...textMessageUpdate({ chatId: 42, text: long, from: user }) },
      context(),
    );
    expect(result).toMatchObject({ action: 'enqueue', message: { body: { kind: 'refused' } } });
    // Not an access refusal: the intake's refusal limit does not apply.
    expect(result.action === 'enqueue' && result.refused).toBeFalsy();
    const body = result.action === 'enqueue' ? result.message.body : undefined;
    expect(body?.kind === 'refused' && body.hint).toContain('16,000');
    expect(JSON.stringify(body)).not.toContain('aaaa');
    // At the limit it is a turn's text; past it, a queued row is refused when read back.
    const atLimit = enqueued(
      textMessageUpdate({ chatId: 42, text: 'a'.repeat(MAX_TEXT_CHARS), from: user }),
    );
    expect(atLimit.body.kind).toBe('text');
    expect(parseInboundMessage(atLimit)).toEqual(atLimit);
    expect(() => parseInboundMessage({ ...atLimit, body: { kind: 'text', text: long } })).toThrow();
  });
});
