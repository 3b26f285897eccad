import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTelegramHtml, textMessageUpdate } from '../support/fake-bot-api.js';
import { lastUserText, reply } from '../support/scripted-model-server.js';
import { eventually } from '../support/server-process.js';
import { expectStoppedThenCarriesOn, longMarkdown, testChat } from '../support/telegram-chats.js';
import { ALLOWED_USER, OTHER_ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// Streamed answers (drafts) and rich messages, end to end: the local server
// in this process, grammY against the fake Bot API, real Claude Code turns
// against the scripted model server, which writes slowly where asked.

const SLOW_ANSWER =
  'The answer, written slowly: first a few words, then some more, and at last the end.';
const TABLE_ANSWER =
  '## Prices\n\n| item | price |\n|:-----|------:|\n| tea | **3** |\n| cake | 5 |\n\nThat is all.';

function respond(request: Parameters<TelegramHarness['respond']>[0]) {
  const text = lastUserText(request);
  if (text.includes('write slowly')) {
    return reply.text(SLOW_ANSWER, { stream: { deltas: 8, delayMs: 400 } });
  }
  if (text.split('\n').at(-1)?.includes('endless story')) {
    return reply.text('Once upon a time '.repeat(40), { stream: { deltas: 40, delayMs: 500 } });
  }
  if (text.includes('table please')) return reply.text(TABLE_ANSWER);
  if (text.includes('long answer please')) return reply.text(longMarkdown());
  return reply.text(`echo: ${text}`);
}

let nextChat = 7000;

function chatWith(harness: TelegramHarness, chatId = nextChat++, from = ALLOWED_USER) {
  return testChat(harness, chatId, { from, keepStatus: true });
}

/** Index in the call log of the first call that shows `text` in the chat (sent or edited in). */
function firstShowing(harness: TelegramHarness, chatId: number, text: string): number {
  return harness.api.calls.findIndex(
    (call) =>
      Number(call.params.chat_id) === chatId &&
      !call.error &&
      (call.params.rich_message?.markdown === text || call.params.text === text) &&
      ['sendMessage', 'sendRichMessage', 'editMessageText'].includes(call.method),
  );
}

describe('streamed answers and rich messages', () => {
  let harness: TelegramHarness;

  beforeAll(async () => {
    harness = await TelegramHarness.create();
    harness.respond = respond;
    await harness.startApp();
  });
  afterAll(async () => {
    await harness.close();
  });

  it('previews a slow answer in drafts, then sends the answer once as a real message', async () => {
    const chat = chatWith(harness);
    chat.say('please write slowly');
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual([SLOW_ANSWER]);

    const drafts = harness.api.drafts(chat.chatId);
    expect(drafts.length, 'drafts were shown').toBeGreaterThan(0);
    // One draft per turn, with a stop button, growing towards the answer.
    expect(new Set(drafts.map((draft) => draft.draftId)).size).toBe(1);
    expect(drafts.every((draft) => draft.canStop && draft.rich)).toBe(true);
    for (const draft of drafts) expect(SLOW_ANSWER.startsWith(draft.text)).toBe(true);
    expect(drafts[0]?.text.length).toBeLessThan(SLOW_ANSWER.length);
    // The drafts came before the answer.
    const firstDraft = harness.api.calls.findIndex(
      (call) =>
        call.method === 'sendRichMessageDraft' && Number(call.params.chat_id) === chat.chatId,
    );
    expect(firstDraft).toBeLessThan(firstShowing(harness, chat.chatId, SLOW_ANSWER));
    // Sent once: one placeholder, edited once into the answer; no status message in a private chat.
    const sends = harness.api.calls.filter(
      (call) =>
        Number(call.params.chat_id) === chat.chatId &&
        ['sendMessage', 'sendRichMessage'].includes(call.method),
    );
    expect(sends.map((call) => call.method)).toEqual(['sendRichMessage']);
    expect(harness.api.visibleMessages(chat.chatId).map((message) => message.text)).toEqual([
      SLOW_ANSWER,
    ]);
  });

  it('stops the turn when the person presses stop on the draft', async () => {
    // A private chat's id is its person's: the stop update names only the chat.
    const chat = chatWith(harness, OTHER_ALLOWED_USER.id, OTHER_ALLOWED_USER);
    chat.say('tell me an endless story');
    await harness.api.waitFor(
      () => harness.api.drafts(chat.chatId).length > 0,
      30_000,
      'the first draft',
    );
    const [draft] = harness.api.drafts(chat.chatId);
    harness.api.pushDraftStop(chat.chatId, draft?.draftId ?? 0);
    // Stopped as /stop does.
    await expectStoppedThenCarriesOn(harness, chat);
  });

  it('keeps drafting after flood control and never loses the answer', async () => {
    const chat = chatWith(harness);
    harness.api.floodNext('sendRichMessageDraft', 1);
    chat.say('again, write slowly');
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual([SLOW_ANSWER]);
    const draftCalls = harness.api.callsTo('sendRichMessageDraft');
    expect(draftCalls.some((call) => call.error?.error_code === 429)).toBe(true);
    expect(harness.api.drafts(chat.chatId).length).toBeGreaterThan(0);
  });

  it('shows no drafts in a group, where the status message stays', async () => {
    const chatId = -nextChat++;
    harness.api.pushUpdate(
      textMessageUpdate({ chatId, text: '@test_agent_bot write slowly', from: ALLOWED_USER }),
    );
    await harness.api.waitFor(
      () => harness.api.sentMessages(chatId).some((message) => message.text === SLOW_ANSWER),
      30_000,
      'the group answer',
    );
    expect(harness.api.drafts(chatId)).toEqual([]);
    expect(
      harness.api.calls.filter(
        (call) => call.method.endsWith('Draft') && Number(call.params.chat_id) === chatId,
      ),
    ).toEqual([]);
  });

  it('sends a Markdown answer with a table as a rich message, its Markdown as written', async () => {
    const chat = chatWith(harness);
    chat.say('a table please');
    await chat.waitForReplies(1);
    const [answer] = harness.api.sentMessages(chat.chatId);
    expect(answer?.parseMode).toBe('rich');
    expect(answer?.raw).toBe(TABLE_ANSWER);
  });

  it('sends a 10,000-character answer as one rich message', async () => {
    const chat = chatWith(harness);
    chat.say('long answer please');
    await chat.waitForReplies(1);
    await eventually(() => harness.app?.pool.busy === 0, 'the worker', 30_000);
    const sent = harness.api.sentMessages(chat.chatId);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.raw).toBe(longMarkdown());
  });
});

describe('on a Bot API without rich messages', () => {
  let harness: TelegramHarness;

  beforeAll(async () => {
    harness = await TelegramHarness.create();
    harness.respond = respond;
    harness.api.setRichMessages(false);
    await harness.startApp();
  });
  afterAll(async () => {
    await harness.close();
  });

  it('sends the table answer by the HTML path, and the next answer tries rich messages no more', async () => {
    const chat = chatWith(harness);
    chat.say('a table please');
    await chat.waitForReplies(1);
    const [answer] = harness.api.sentMessages(chat.chatId);
    expect(answer?.parseMode).toBe('HTML');
    expect(parseTelegramHtml(answer?.raw ?? '')).toBe(answer?.text);
    expect(answer?.text).toContain('cake');
    expect(harness.api.callsTo('sendRichMessage')).toHaveLength(1);

    chat.say('a table please, once more');
    await chat.waitForReplies(2);
    expect(harness.api.sentMessages(chat.chatId)[1]?.parseMode).toBe('HTML');
    expect(harness.api.callsTo('sendRichMessage')).toHaveLength(1);
    expect(harness.api.callsTo('editMessageText').some((call) => call.params.rich_message)).toBe(
      false,
    );
  });

  it('splits a 10,000-character answer into at least three formatted messages within the limit', async () => {
    const chat = chatWith(harness);
    chat.say('long answer please');
    await eventually(
      () => harness.api.sentMessages(chat.chatId).length >= 3 && harness.app?.pool.busy === 0,
      'the long reply',
      30_000,
    );
    const sent = harness.api.sentMessages(chat.chatId);
    for (const message of sent) {
      expect(message.parseMode).toBe('HTML');
      expect(message.text.length).toBeLessThanOrEqual(4096);
      expect(parseTelegramHtml(message.raw)).toBe(message.text);
      expect(message.raw.split('<pre>').length).toBe(message.raw.split('</pre>').length);
    }
    expect(sent[0]?.raw).toContain('<b>Section 0</b>');
    expect(
      sent
        .map((message) => message.text)
        .join('\n')
        .replace(/\s+/g, ' '),
    ).toContain('value_9 = compute(0, 9) # step 9'.replace(/\s+/g, ' '));
  });

  it('previews a slow answer in plain drafts', async () => {
    const chat = chatWith(harness);
    chat.say('please write slowly');
    await chat.waitForReplies(1);
    expect(chat.replies()).toEqual([SLOW_ANSWER]);
    const drafts = harness.api.drafts(chat.chatId);
    expect(drafts.length).toBeGreaterThan(0);
    expect(drafts.every((draft) => !draft.rich && SLOW_ANSWER.startsWith(draft.text))).toBe(true);
  });
});
