import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { texts } from '../../src/texts/en.js';
import { textMessageUpdate } from '../support/fake-bot-api.js';
import { HTTP_TOOL, HttpTestMcpServer } from '../support/mcp/mcp-test-servers.js';
import { askingAgentFiles, askingModel } from '../support/question-fixtures.js';
import { ALLOWED_USER, OTHER_ALLOWED_USER, TelegramHarness } from '../support/telegram-harness.js';

// Questions and approvals with buttons on the local server: grammY long
// polling against the fake Bot API, real Claude Code turns against the
// scripted model. The person presses inline buttons (callback queries) or
// types the answer; the running turn gets it.

const STRANGER = { id: 999, first_name: 'Eve' };

let harness: TelegramHarness;
let http: HttpTestMcpServer;
let nextChat = 7100;

beforeAll(async () => {
  http = await new HttpTestMcpServer().start();
  harness = await TelegramHarness.create();
  for (const [name, content] of Object.entries(askingAgentFiles(http.url))) {
    await writeFile(path.join(harness.agentDir, name), content);
  }
  // The model asks first, then says what the tool result was.
  harness.respond = askingModel('API_TOKEN=hunter2hunter2 alpha');
  await harness.startApp();
});

afterAll(async () => {
  await harness?.close();
  await http?.stop();
});

function privateChat(from = ALLOWED_USER) {
  const chatId = nextChat++;
  const api = () => harness.api;
  const answers = () =>
    api()
      .sentMessages(chatId)
      .map((message) => message.text)
      .filter((text) => text.startsWith('tool said:') || text.startsWith('echo:'));
  return {
    chatId,
    say: (text: string, sender = from) =>
      api().pushUpdate(textMessageUpdate({ chatId, text, from: sender })),
    /** The question message, once it shows buttons. */
    question: async () => {
      await api().waitFor(
        () => api().messageWithButtons(chatId) !== undefined,
        30_000,
        'a question',
      );
      return api().messageWithButtons(chatId) as NonNullable<
        ReturnType<FakeApi['messageWithButtons']>
      >;
    },
    answers,
    /** The chat's person presses a button of the bot's message. */
    press: (messageId: number, label: string) =>
      api().pressButton(chatId, messageId, label, { from }),
    waitForAnswer: () => api().waitFor(() => answers().length > 0, 30_000, 'the answer'),
    answered: (callbackId: string) =>
      api().waitFor(
        () => api().callbackAnswer(callbackId) !== undefined,
        10_000,
        'the press answered',
      ),
  };
}
type FakeApi = TelegramHarness['api'];

describe('questions with buttons (local server)', () => {
  it('shows one button per option; the pressed one is what the model receives', async () => {
    const chat = privateChat();
    chat.say('Please pick a colour');
    const question = await chat.question();
    expect(question.text).toContain('Which colour should the logo be?');
    expect(question.text).toContain(texts.questions.typeHint);
    const labels = harness.api
      .keyboardOf(chat.chatId, question.messageId)
      .flat()
      .map((button) => button.text);
    expect(labels).toEqual(['Red', 'Blue']);

    const blue = harness.api.keyboardOf(chat.chatId, question.messageId)[1]?.[0]
      ?.callback_data as string;
    const press = chat.press(question.messageId, 'Blue');
    await chat.waitForAnswer();
    expect(chat.answers()).toEqual([
      'tool said: Your questions have been answered: "Which colour should the logo be?"="Blue". You can now continue with these answers in mind.',
    ]);
    expect(harness.api.callbackAnswer(press)).toBe(texts.questions.pressChosen);
    // The question shows the answer, and its buttons are gone.
    const shown = harness.api
      .sentMessages(chat.chatId)
      .find((m) => m.messageId === question.messageId);
    expect(shown?.text).toContain('→ Blue');
    expect(harness.api.keyboardOf(chat.chatId, question.messageId)).toEqual([]);

    // A press after the turn ended is stale, and changes nothing.
    const late = harness.api.pushCallbackQuery({
      chatId: chat.chatId,
      messageId: question.messageId,
      data: blue,
      from: ALLOWED_USER,
    });
    await chat.answered(late);
    expect(harness.api.callbackAnswer(late)).toBe(texts.questions.pressStale);
    expect(chat.answers()).toHaveLength(1);
  });

  it('answers presses by people not allowed, or from another chat, without taking them', async () => {
    const chat = privateChat();
    const elsewhere = privateChat(OTHER_ALLOWED_USER);
    chat.say('Please pick a colour');
    const question = await chat.question();
    const data = harness.api.keyboardOf(chat.chatId, question.messageId).flat()[0]
      ?.callback_data as string;

    const stranger = harness.api.pressButton(chat.chatId, question.messageId, 'Red', {
      from: STRANGER,
    });
    await chat.answered(stranger);
    expect(harness.api.callbackAnswer(stranger)).toBe(texts.questions.pressNotAllowed);
    // The same data pressed in another chat (copied, or forged) finds no question there.
    const forged = harness.api.pushCallbackQuery({
      chatId: elsewhere.chatId,
      messageId: question.messageId,
      data,
      from: OTHER_ALLOWED_USER,
    });
    await chat.answered(forged);
    expect(harness.api.callbackAnswer(forged)).toBe(texts.questions.pressStale);
    expect(chat.answers()).toEqual([]);

    // Still open: the person's own press counts.
    chat.press(question.messageId, 'Red');
    await chat.waitForAnswer();
    expect(chat.answers()[0]).toContain('"Which colour should the logo be?"="Red"');
  });

  it('takes the next text message as the answer, without starting another turn', async () => {
    const chat = privateChat();
    chat.say('Please pick a colour');
    await chat.question();
    const turnsBefore = harness.model.messageRequests.length;
    chat.say('Green, like grass');
    await chat.waitForAnswer();
    expect(chat.answers()).toHaveLength(1);
    expect(chat.answers()[0]).toContain('"Which colour should the logo be?"="Green, like grass"');
    // One request for the tool result, none for "Green, like grass" as a message of its own.
    expect(harness.model.messageRequests.length - turnsBefore).toBe(1);
    expect(harness.turnsAsking('Green, like grass')).toEqual([]);
  });

  it('answers once with a typed answer delivered again after a restart, and starts no turn for it', async () => {
    const chat = privateChat();
    chat.say('Please pick a colour');
    await chat.question();
    const answer = textMessageUpdate({
      chatId: chat.chatId,
      text: 'Teal, for the redelivery',
      from: ALLOWED_USER,
      updateId: 950_001,
    });
    harness.api.pushUpdate(answer);
    await chat.waitForAnswer();
    // The process stops before Telegram hears the update was taken, and Telegram delivers it again.
    await harness.stopApp();
    await harness.startApp();
    harness.api.pushUpdate(answer);
    chat.say('and then this');
    await harness.api.waitFor(() => chat.answers().length >= 2, 30_000, 'the next answer');
    expect(chat.answers()).toHaveLength(2);
    expect(chat.answers()[0]).toContain('="Teal, for the redelivery"');
    expect(harness.turnsAsking('and then this')).toHaveLength(1);
    expect(harness.turnsAsking('Teal, for the redelivery')).toEqual([]);
  });

  it('asks before a tool set to "ask" runs, showing its input without secrets', async () => {
    const chat = privateChat();
    const callsBefore = http.calls.length;
    chat.say('Please look something up');
    const question = await chat.question();
    expect(question.text).toContain(`mcp__dir__${HTTP_TOOL}`);
    expect(question.text).toContain('API_TOKEN=[redacted]');
    expect(question.text).not.toContain('hunter2hunter2');
    chat.press(question.messageId, texts.questions.allowOnce);
    await chat.waitForAnswer();
    expect(chat.answers()[0]).toContain('HTTP-MCP-REPLY');
    expect(http.calls.length - callsBefore).toBe(1);

    // Deny: the model is told, the tool does not run.
    const other = privateChat();
    other.say('Please look something up');
    const second = await other.question();
    other.press(second.messageId, texts.questions.deny);
    await other.waitForAnswer();
    expect(other.answers()[0]).toContain('ERROR');
    expect(other.answers()[0]).toContain(texts.questions.denied(`mcp__dir__${HTTP_TOOL}`));
    expect(http.calls.length - callsBefore).toBe(1);
  });
});
