import { describe, expect, it } from 'vitest';
import { textMessageUpdate } from '../../../test/support/fake-bot-api.js';
import {
  documentUpdate,
  mediaMessage,
  photoUpdate,
  voiceUpdate,
} from '../../../test/support/media-updates.js';
import type { AccessPolicy } from '../../domain/access-policy.js';
import {
  MAX_REPLY_CONTEXT_CHARS,
  MAX_TEXT_CHARS,
  parseInboundMessage,
} from '../../domain/inbound-message.js';
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

describe('normalizeUpdate: files, captions, albums and replies', () => {
  it('takes a photo (its largest size) with the caption as the text, and the album id', () => {
    const message = enqueued(
      photoUpdate({
        chatId: 42,
        from: user,
        caption: ' what is this? ',
        mediaGroupId: 'album-1',
        file: { fileId: 'big', size: 50_000 },
      }),
    );
    expect(message.body).toEqual({
      kind: 'media',
      text: 'what is this?',
      attachments: [
        {
          kind: 'photo',
          fileId: 'big',
          fileUniqueId: 'u-big',
          mimeType: 'image/jpeg',
          size: 50_000,
        },
      ],
    });
    expect(message.mediaGroupId).toBe('album-1');
    // What goes on the queue reads back.
    expect(parseInboundMessage(JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it('takes documents, voice, audio, video and animations (an animation once, not as its document twin)', () => {
    const document = enqueued(
      documentUpdate({
        chatId: 42,
        file: { fileId: 'd1', fileName: 'report.pdf', mimeType: 'application/pdf', size: 10 },
      }),
    );
    expect(document.body).toMatchObject({
      kind: 'media',
      text: '',
      attachments: [{ kind: 'document', fileName: 'report.pdf', mimeType: 'application/pdf' }],
    });
    expect(enqueued(voiceUpdate({ chatId: 42, file: { fileId: 'v1' } })).body).toMatchObject({
      attachments: [{ kind: 'voice', mimeType: 'audio/ogg', durationSeconds: 3 }],
    });
    const animation = { file_id: 'a1', file_unique_id: 'ua1', mime_type: 'video/mp4' };
    expect(
      enqueued(mediaMessage({ chatId: 42 }, { animation, document: animation })).body,
    ).toMatchObject({ attachments: [{ kind: 'animation', fileId: 'a1' }] });
    for (const kind of ['audio', 'video', 'video_note'] as const) {
      const body = enqueued(
        mediaMessage({ chatId: 42 }, { [kind]: { file_id: `${kind}-id`, file_unique_id: 'u' } }),
      ).body;
      expect(body).toMatchObject({ kind: 'media', attachments: [{ kind, fileId: `${kind}-id` }] });
    }
  });

  it('in groups takes a file only when its caption mentions the bot, without the mention', () => {
    const file = { fileId: 'd2', fileName: 'a.txt' };
    expect(ignored(documentUpdate({ chatId: -100, caption: 'for us', file }))).toMatch(
      /not addressed/,
    );
    const message = enqueued(
      documentUpdate({ chatId: -100, caption: '@agent_bot summarise this', file }),
    );
    expect(message.body).toMatchObject({ kind: 'media', text: 'summarise this' });
  });

  it('refuses a caption too long to take, like a text', () => {
    const message = enqueued(
      documentUpdate({
        chatId: 42,
        caption: 'x'.repeat(MAX_TEXT_CHARS + 1),
        file: { fileId: 'd' },
      }),
    );
    expect(message.body.kind).toBe('refused');
  });

  it('gives a reply the replied-to text (cut, or the quoted part) and file, but not a topic root', () => {
    const reply = enqueued({
      message: {
        ...(textMessageUpdate({ chatId: 42, text: 'why?', from: user }).message as object),
        reply_to_message: {
          message_id: 5,
          date: 0,
          chat: { id: 42, type: 'private' },
          from: { id: 7, is_bot: false, first_name: 'Bob' },
          caption: 'the quarterly figures',
          document: { file_id: 'f9', file_unique_id: 'u9', file_name: 'q3.xlsx', file_size: 99 },
        },
      },
    });
    expect(reply.body).toEqual({ kind: 'text', text: 'why?' });
    expect(reply.replyTo).toEqual({
      senderName: 'Bob',
      text: 'the quarterly figures',
      attachment: {
        kind: 'document',
        fileId: 'f9',
        fileUniqueId: 'u9',
        fileName: 'q3.xlsx',
        size: 99,
      },
    });
    expect(parseInboundMessage(JSON.parse(JSON.stringify(reply)))).toEqual(reply);

    const long = enqueued({
      message: {
        ...(textMessageUpdate({ chatId: 42, text: 'and?', replyToBot: { botId: bot.id } })
          .message as Record<string, unknown>),
        reply_to_message: {
          message_id: 6,
          date: 0,
          chat: { id: 42, type: 'private' },
          from: { id: bot.id, is_bot: true, first_name: 'Agent' },
          text: 'y'.repeat(10_000),
        },
      },
    });
    expect(long.replyTo?.senderName).toBe('the assistant');
    expect(long.replyTo?.text).toHaveLength(MAX_REPLY_CONTEXT_CHARS);
    const quoted = enqueued({
      message: {
        ...(textMessageUpdate({ chatId: 42, text: 'this part', replyToBot: { botId: bot.id } })
          .message as Record<string, unknown>),
        quote: { text: 'earlier', position: 0 },
      },
    });
    expect(quoted.replyTo?.text).toBe('earlier');

    const inTopic = enqueued(
      textMessageUpdate({
        chatId: -100,
        threadId: 12,
        text: '@agent_bot hi',
        replyToBot: { botId: 5, messageId: 12 },
      }),
    );
    expect(inTopic.replyTo).toBeUndefined();
  });
});
