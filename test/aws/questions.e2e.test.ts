import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { texts } from '../../src/texts/en.js';
import { type AwsPipeline, startAwsPipeline } from '../support/aws-pipeline.js';
import { callbackQueryUpdate } from '../support/fake-bot-api.js';
import { HttpTestMcpServer } from '../support/mcp/mcp-test-servers.js';
import { askingAgentFiles, askingModel } from '../support/question-fixtures.js';
import { requestText } from '../support/scripted-model-server.js';
import { lambdaContext } from '../support/sqs-emulator.js';

// Questions and approvals across the AWS deployment, offline: the turn runs
// in the worker handler (fed by the emulated SQS queue) and waits; the
// person's press reaches the ingress handler as a webhook, is recorded in
// (emulated) DynamoDB, and the waiting worker picks it up.

let pipeline: AwsPipeline;
let http: HttpTestMcpServer;

const say = (chatId: number, text: string) => pipeline.sendText(chatId, text);

/** The person presses `label` on the chat's question, through the ingress; the callback query's id. */
async function press(chatId: number, label: string): Promise<string> {
  const { api } = pipeline;
  await api.waitFor(() => api.messageWithButtons(chatId) !== undefined, 30_000, 'a question');
  const question = api.messageWithButtons(chatId);
  const button = api
    .keyboardOf(chatId, question?.messageId ?? 0)
    .flat()
    .find((candidate) => candidate.text === label);
  const update = callbackQueryUpdate({
    chatId,
    messageId: question?.messageId ?? 0,
    data: button?.callback_data ?? '',
    botId: api.botId,
    from: { id: chatId },
  });
  expect((await pipeline.sendUpdate(update)).statusCode).toBe(200);
  return update.callback_query.id;
}

const answers = (chatId: number) =>
  pipeline.api
    .sentMessages(chatId)
    .map((message) => message.text)
    .filter((text) => text.startsWith('tool said:'));

beforeAll(async () => {
  http = await new HttpTestMcpServer().start();
  pipeline = await startAwsPipeline({
    name: 'questions',
    respond: askingModel('alpha'),
    allowedUserIds: '301,302,303,304',
    agentFiles: askingAgentFiles(http.url),
    withoutBucket: true,
    worker: { progress: false },
  });
});

afterAll(async () => {
  await Promise.all([pipeline?.close(), http?.stop()]);
});

describe('questions across the ingress and worker Lambdas', () => {
  it('carries a button press from the ingress to the turn waiting in the worker', async () => {
    const chatId = 301;
    const worker = pipeline.worker();
    try {
      expect((await say(chatId, 'Please pick a colour')).statusCode).toBe(200);
      const running = pipeline.deliver(worker);
      const callback = await press(chatId, 'Blue');
      expect(pipeline.api.callbackAnswer(callback)).toBe(texts.questions.pressChosen);
      const { response } = await running;
      expect(response?.batchItemFailures ?? []).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([
      'tool said: Your questions have been answered: "Which colour should the logo be?"="Blue". You can now continue with these answers in mind.',
    ]);
    // The question shows the answer.
    const question = pipeline.api
      .sentMessages(chatId)
      .find((message) => message.text.includes('→ Blue'));
    expect(question).toBeDefined();
  });

  it('takes a typed answer at the ingress, with nothing queued for it', async () => {
    const chatId = 304;
    const worker = pipeline.worker();
    try {
      await say(chatId, 'Please pick a colour');
      const running = pipeline.deliver(worker);
      await pipeline.api.waitFor(
        () => pipeline.api.messageWithButtons(chatId) !== undefined,
        30_000,
        'a question',
      );
      expect((await say(chatId, 'Green, like grass')).statusCode).toBe(200);
      await running;
    } finally {
      await worker.close();
    }
    expect(answers(chatId)[0]).toContain('"Which colour should the logo be?"="Green, like grass"');
    // The typed answer was the question's answer, not a message for another turn.
    const { records } = await pipeline.sqs.deliver(
      async () => ({ batchItemFailures: [] }),
      lambdaContext(),
    );
    expect(records).toEqual([]);
  });

  it('carries an approval (Allow once) the same way, and the tool runs', async () => {
    const chatId = 302;
    const callsBefore = http.calls.length;
    const worker = pipeline.worker();
    try {
      await say(chatId, 'Please look something up');
      const running = pipeline.deliver(worker);
      await press(chatId, texts.questions.allowOnce);
      await running;
    } finally {
      await worker.close();
    }
    expect(answers(chatId)[0]).toContain('HTTP-MCP-REPLY: value of alpha');
    expect(http.calls.length - callsBefore).toBe(1);
  });

  it('ends a question still unanswered near the deadline, and the turn ends in time', async () => {
    const chatId = 303;
    const worker = pipeline.worker({ deadlineMarginMs: 2_000, minTurnMs: 1_000 });
    try {
      await say(chatId, 'Please pick a colour');
      // Ten seconds in the invocation: the question stops waiting well before the end.
      const { response } = await pipeline.deliver(worker, 10_000);
      expect(response?.batchItemFailures ?? []).toEqual([]);
    } finally {
      await worker.close();
    }
    const shown = pipeline.api.sentMessages(chatId).map((message) => message.text);
    expect(shown.some((text) => text.includes('(No answer.)'))).toBe(true);
    expect(pipeline.api.messageWithButtons(chatId)).toBeUndefined();

    // The agent was told why (the session kept it): what a later run of the conversation sees.
    const later = pipeline.worker();
    try {
      await say(chatId, 'And now?');
      for (let run = 0; run < 3; run++) {
        const { records } = await pipeline.deliver(later);
        if (records.length === 0) break;
      }
    } finally {
      await later.close();
    }
    const seen = pipeline.model.messageRequests.filter((request) =>
      requestText(request).includes('Please pick a colour'),
    );
    expect(
      seen.some((request) => requestText(request).includes(texts.questions.noAnswerDeadline)),
    ).toBe(true);
  });
});
