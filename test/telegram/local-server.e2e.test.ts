import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXTS } from '../../src/core/pipeline/conversation-worker.js';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { lastUserText, reply, requestText, toolResults } from '../support/scripted-model-server.js';
import { eventually } from '../support/server-process.js';
import { expectStoppedThenCarriesOn, longMarkdown, testChat } from '../support/telegram-chats.js';
import { ALLOWED_USER, OTHER_ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// The whole local server in this process: grammY long polling against a fake
// Bot API, the SQLite queue, the worker pool and real Claude Code turns
// against the scripted model server.

let harness: TelegramHarness;
let nextChat = 5000;

beforeAll(async () => {
  harness = await TelegramHarness.create();
  harness.respond = (request) => {
    const text = lastUserText(request);
    // A stopped request stays in the history with no answer, so the next
    // message joins it in one user turn: decide by what was said last.
    if (text.split('\n').at(-1)?.includes('slow task'))
      return reply.text('too late', { delayMs: 20_000 });
    if (text.includes('long answer please')) return reply.text(longMarkdown());
    if (text.includes('check my notes')) {
      // A tool call, then an answer slow enough for the progress message to show.
      return toolResults(request).length === 0
        ? reply.toolUse('Read', { file_path: 'notes.txt' })
        : reply.text('Your notes are empty.', { delayMs: 4_000 });
    }
    return reply.text(`echo: ${text}`);
  };
  await harness.startApp();
});

afterAll(async () => {
  await harness.close();
});

/** A private chat with an allowed user (each test its own). */
const privateChat = (from = ALLOWED_USER) => testChat(harness, nextChat++, { from });

/** A group with an allowed user (each test its own); the bot answers what mentions it. */
const groupChat = (from = ALLOWED_USER) => testChat(harness, -nextChat++, { from });

describe('local server (long polling)', () => {
  it('answers a message, registered its commands and showed typing', async () => {
    const chat = privateChat();
    chat.say('Hello there');
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual(['echo: Hello there']);
    const commands = harness.api.callsTo('setMyCommands')[0]?.params.commands as Array<{
      command: string;
    }>;
    expect(commands.map((entry) => entry.command)).toEqual(['new', 'status', 'stop', 'help']);
    expect(
      harness.api
        .callsTo('sendChatAction')
        .some((call) => Number(call.params.chat_id) === chat.chatId),
    ).toBe(true);
  });

  it('answers /start, /status, /stop with nothing running, and a sticker, without the model', async () => {
    const chat = privateChat();
    chat.say('first question');
    await chat.waitForReplies(1);
    const modelCalls = harness.model.messageRequests.length;
    chat.say('/start');
    await chat.waitForReplies(2);
    chat.say('/status');
    await chat.waitForReplies(3);
    chat.say('/stop');
    await chat.waitForReplies(4);
    harness.api.pushUpdate({
      message: {
        message_id: 9,
        date: 0,
        chat: { id: chat.chatId, type: 'private' },
        from: ALLOWED_USER,
        sticker: { file_id: 'x' },
      },
    });
    await chat.waitForReplies(5);
    const [, help, status, stop, sticker] = chat.replies();
    expect(help).toBe(DEFAULT_TEXTS.help);
    expect(status).toMatch(/Session: \w{8}/);
    expect(status).toContain('Turns: 1');
    expect(status).toContain('Working: no');
    expect(stop).toBe(DEFAULT_TEXTS.nothingToStop);
    expect(sticker).toBe(DEFAULT_TEXTS.unsupported('stickers'));
    expect(harness.model.messageRequests.length).toBe(modelCalls);
  });

  it('shows what a slow turn is doing in a status message in a group, deleted before the answer', async () => {
    // Private chats see a draft of the answer instead (streamed-answers.e2e.test.ts).
    const chat = groupChat();
    chat.say('@test_agent_bot please check my notes');
    await harness.api.waitFor(
      () => chat.replies().includes('Your notes are empty.'),
      30_000,
      'the answer',
    );
    const calls = harness.api.calls.filter(
      (call) => Number(call.params.chat_id) === chat.chatId && !call.error,
    );
    const [status, ...others] = calls.filter(
      (call) => call.method === 'sendMessage' && call.params.parse_mode === undefined,
    );
    expect(others).toEqual([]);
    expect(status, 'a status message was sent').toBeDefined();
    const statusId = (status?.result as { message_id: number } | undefined)?.message_id;
    const shown = calls
      .filter((call) => ['sendMessage', 'editMessageText'].includes(call.method))
      .filter((call) => (call.result as { message_id: number }).message_id === statusId)
      .map((call) => String(call.params.text));
    expect(shown[0]).toMatch(/^Working on it…/);
    expect(shown.some((text) => text.includes('Reading notes.txt'))).toBe(true);
    // Deleted, and before the answer was sent.
    const deleted = calls.findIndex(
      (call) => call.method === 'deleteMessage' && Number(call.params.message_id) === statusId,
    );
    // The answer's placeholder (a rich message, edited into the answer).
    const answered = calls.findIndex((call) => call.method === 'sendRichMessage');
    expect(deleted).toBeGreaterThanOrEqual(0);
    expect(deleted).toBeLessThan(answered);
    expect(chat.replies()).toEqual(['Your notes are empty.']);
  });

  it('/new starts a fresh session: the next turn no longer carries the earlier messages', async () => {
    const chat = privateChat();
    chat.say('my favourite colour is teal');
    await chat.waitForReplies(1);
    chat.say('/new');
    await chat.waitForReplies(2);
    expect(chat.replies()[1]).toBe(DEFAULT_TEXTS.newSession);
    chat.say('what is my favourite colour?');
    await chat.waitForReplies(3);
    const [request] = harness.turnsAsking('what is my favourite colour?');
    expect(request && requestText(request)).not.toContain('teal');
  });

  it('/stop cancels the running turn, and the chat carries on', async () => {
    const chat = privateChat();
    chat.say('please do this slow task');
    await eventually(
      () => harness.turnsAsking('slow task').length > 0,
      'the slow turn to reach the model',
    );
    chat.say('/stop');
    await expectStoppedThenCarriesOn(harness, chat);
  });

  // On a Bot API without rich messages the same reply is split into HTML
  // messages within Telegram's limit: streamed-answers.e2e.test.ts.
  it('sends a 10,000-character Markdown reply as one rich message, its Markdown as written', async () => {
    const chat = privateChat();
    chat.say('long answer please');
    await eventually(
      () => harness.api.sentMessages(chat.chatId).length >= 1 && harness.app?.pool.busy === 0,
      'the long reply',
    );
    const sent = harness.api.sentMessages(chat.chatId);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.parseMode).toBe('rich');
    expect(sent[0]?.raw).toBe(longMarkdown());
    expect(sent[0]?.text.replace(/\s+/g, ' ')).toContain(
      'value_9 = compute(0, 9) # step 9'.replace(/\s+/g, ' '),
    );
    expect(
      harness.api
        .callsTo('sendMessage')
        .some((call) => Number(call.params.chat_id) === chat.chatId),
    ).toBe(false);
  });

  it('answers 20 messages sent at once, in order, none twice, and the transcript holds all 20', async () => {
    const chat = privateChat();
    const items = Array.from(
      { length: 20 },
      (_, index) => `item-${String(index).padStart(2, '0')}`,
    );
    harness.api.pushUpdates(items.map((item) => chat.update(item)));
    await eventually(
      () =>
        harness.turnsAsking('item-19').length > 0 &&
        harness.app?.queue.counts().pending === 0 &&
        harness.app.pool.busy === 0,
      'all 20 answered',
    );
    const turns = harness.model.messageRequests.filter((request) =>
      /item-\d\d/.test(lastUserText(request)),
    );
    const asked = turns.flatMap((request) => lastUserText(request).match(/item-\d\d/g) ?? []);
    expect(asked).toEqual(items);
    expect(chat.replies()).toEqual(turns.map((request) => `echo: ${lastUserText(request)}`));
    // The last turn resumed the session from the store: its history has every message, in order.
    const history = requestText(turns.at(-1) as (typeof turns)[number]);
    const positions = items.map((item) => history.indexOf(item));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it('answers a redelivered update (same update_id) once', async () => {
    const chat = privateChat();
    const update = chat.update('only once please', 900_001);
    harness.api.pushUpdates([update, update]);
    await chat.waitForReplies(1);
    chat.say('and this');
    await chat.waitForReplies(2);
    expect(chat.replies()).toEqual(['echo: only once please', 'echo: and this']);
    expect(harness.turnsAsking('only once please')).toHaveLength(1);
  });

  it('refuses a user who is not on the allowlist, telling them their id, without asking the model', async () => {
    const stranger = { id: 31337, first_name: 'Eve' };
    const chat = privateChat(stranger);
    chat.say('let me in, secret word swordfish');
    await chat.waitForReplies(1);
    expect(chat.replies()[0]).toContain('31337');
    // How the operator lets people in (setting names) is logged, not told to a stranger.
    expect(chat.replies()[0]).not.toContain('TELEGRAM_ALLOWED_USER_IDS');
    expect(harness.turnsAsking('swordfish')).toHaveLength(0);
  });

  it('answers a stranger who writes 40 times with one refusal', async () => {
    const stranger = { id: 31338, first_name: 'Mallory' };
    const chat = privateChat(stranger);
    harness.api.pushUpdates(
      Array.from({ length: 40 }, (_, index) => chat.update(`knock ${index}`)),
    );
    // Polled updates are taken in order: once a later message is answered, all 40 were seen.
    const friend = privateChat();
    friend.say('after the noise');
    await friend.waitForReplies(1);
    await chat.waitForReplies(1);
    expect(chat.replies()).toHaveLength(1);
    expect(chat.replies()[0]).toContain('31338');
    expect(harness.turnsAsking('knock')).toHaveLength(0);
  });

  it('keeps two forum topics of one group as separate sessions', async () => {
    const chatId = -100_777;
    const say = (threadId: number, text: string, from = ALLOWED_USER) =>
      harness.api.pushUpdate(
        textMessageUpdate({ chatId, threadId, text: `@${harness.api.botUsername} ${text}`, from }),
      );
    const inTopic = (threadId: number) =>
      harness.api.sentMessages(chatId, threadId).map((message) => message.text);

    say(11, 'the code word is pelican');
    say(12, 'what is the code word?', OTHER_ALLOWED_USER);
    await harness.api.waitFor(
      () => inTopic(11).length === 1 && inTopic(12).length === 1,
      30_000,
      'both topics',
    );
    expect(inTopic(11)).toEqual(['echo: Ada: the code word is pelican']);
    expect(inTopic(12)).toEqual(['echo: Bob: what is the code word?']);
    const [otherTopic] = harness.turnsAsking('what is the code word?');
    expect(otherTopic && requestText(otherTopic)).not.toContain('pelican');

    say(11, 'repeat it');
    await harness.api.waitFor(
      () => inTopic(11).length === 2,
      30_000,
      'the second answer in topic 11',
    );
    const [sameTopic] = harness.turnsAsking('repeat it');
    expect(sameTopic && requestText(sameTopic)).toContain('pelican');
  });
});
