import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoTurnControl } from '../../src/adapters/aws/dynamo-turn-control.js';
import { parseJobPayload } from '../../src/adapters/aws/sqs-job-sink.js';
import { texts } from '../../src/texts/en.js';
import {
  type AwsPipeline,
  failures,
  startAwsPipeline,
  waitUntil,
} from '../support/aws-pipeline.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  requestText,
} from '../support/scripted-model-server.js';

// AWS behaving as the local server does, offline, on the whole path (API
// Gateway event -> ingress handler -> SQS FIFO (emulated) -> worker handler
// -> the real agent (Claude Code) against a scripted model -> Telegram (fake
// Bot API)): messages that wait while a turn runs are answered by one turn;
// control messages are answered without a worker; a task longer than one
// invocation goes on in the next and is answered once, unless a `/new`
// overtook it.

let pipeline: AwsPipeline;

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes(texts.continueInstruction)) return reply.text('The long job is finished.');
  if (text.includes('long job')) return reply.text('far too late', { delayMs: 30_000 });
  if (text.includes('slow task')) return reply.text('Slow task done.', { delayMs: 2_500 });
  if (text.includes('second one')) return reply.text('All three answered.');
  return reply.text(`echo: ${text}`);
}

const answers = (chatId: number) => pipeline.sentTexts(chatId);
const turnsOf = () => new DynamoTurnControl(pipeline.table);
const requestsWith = (fragment: string) =>
  pipeline.model.messageRequests.filter((request) => lastUserText(request).includes(fragment));

beforeAll(async () => {
  pipeline = await startAwsPipeline({
    name: 'parity',
    respond,
    allowedUserIds: '201,202,203,204',
    tenant: 'parity',
    maxReceiveCount: 12,
    // A status message would be one more message in the chat; these tests count answers.
    worker: { progress: false },
  });
});

afterAll(async () => {
  await pipeline?.close();
});

describe('AWS pipeline, as the local server behaves', () => {
  it('answers three messages sent while a turn runs with one next turn, in order, each once', async () => {
    const chatId = 201;
    const worker = pipeline.worker();
    try {
      await pipeline.sendText(chatId, 'Please do this slow task.');
      const first = pipeline.deliver(worker);
      await waitUntil(async () => (await turnsOf().runningSince('parity:telegram:201:-')) !== null);
      for (const text of ['second one', 'third one', 'fourth one']) {
        expect((await pipeline.sendText(chatId, text)).statusCode).toBe(200);
      }
      const running = await first;
      expect(running.records).toHaveLength(1);
      expect(failures(running.response)).toEqual([]);

      // Invisible while the first ran; now the event source hands them over together.
      const next = await pipeline.deliver(worker);
      expect(next.records.map((record) => parseJobPayload(record.body).message.body)).toEqual([
        { kind: 'text', text: 'second one' },
        { kind: 'text', text: 'third one' },
        { kind: 'text', text: 'fourth one' },
      ]);
      expect(failures(next.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual(['Slow task done.', 'All three answered.']);
    // One turn saw the three, in order, once each.
    const combined = requestsWith('second one');
    expect(combined).toHaveLength(1);
    expect(lastUserText(combined[0] as RecordedRequest)).toBe(
      'second one\n\nthird one\n\nfourth one',
    );
    expect(requestsWith('third one')).toHaveLength(1);
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
  });

  it('answers /status while every worker is busy, without a worker or a turn', async () => {
    const chatId = 202;
    const worker = pipeline.worker();
    let turnOver = false;
    try {
      await pipeline.sendText(chatId, 'Another slow task, please.');
      const busy = pipeline.deliver(worker).finally(() => {
        turnOver = true;
      });
      await waitUntil(async () => (await turnsOf().runningSince('parity:telegram:202:-')) !== null);

      expect((await pipeline.sendText(chatId, '/status')).statusCode).toBe(200);
      // Answered by the ingress itself, while the only worker is still in its turn.
      expect(turnOver).toBe(false);
      expect(answers(chatId)).toEqual([expect.stringContaining('Working: yes')]);
      // Nothing waits in the queue for a worker.
      expect(await pipeline.sqs.receiveRecords()).toEqual([]);

      const { records, response } = await busy;
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
      // No turn for it: the model never heard of it.
      expect(requestsWith('/status')).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([expect.stringContaining('Working: yes'), 'Slow task done.']);
  });

  it('continues a turn that reaches the deadline in a second invocation, and answers once', async () => {
    const chatId = 203;
    const worker = pipeline.worker({ deadlineMarginMs: 3_000, minTurnMs: 1_000 });
    try {
      await pipeline.sendText(chatId, 'Start the long job.');
      // Seven seconds left in the invocation: the run gets four.
      const cut = await pipeline.deliver(worker, 7_000);
      expect(failures(cut.response)).toEqual([]);
      // Told once that it goes on; not that it stopped.
      expect(answers(chatId)).toEqual([texts.stillWorking]);

      const resumed = await pipeline.deliver(worker);
      expect(resumed.records).toHaveLength(1);
      const continuation = parseJobPayload(resumed.records[0]?.body ?? '').message;
      expect(continuation.continuation).toMatchObject({ n: 1 });
      expect(resumed.records[0]?.attributes.MessageGroupId).toBe('parity:telegram:203:-');
      expect(failures(resumed.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([texts.stillWorking, 'The long job is finished.']);
    // The second run resumed the session: the model saw the task it continues.
    const second = requestsWith(texts.continueInstruction);
    expect(second).toHaveLength(1);
    expect(requestText(second[0] as RecordedRequest)).toContain('Start the long job.');
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
    expect(await turnsOf().runningSince('parity:telegram:203:-')).toBeNull();
  });

  // A `/new` sent while a long task runs lands on the conversation's lane
  // before the continuation its cut run queues: by the time the continuation
  // comes up, the session it continues is gone. It is dropped unrun (no turn,
  // no answer, its message completed), and the next message starts afresh.
  it('drops a continuation overtaken by /new, and the next message starts afresh', async () => {
    const chatId = 204;
    const continuationsBefore = requestsWith(texts.continueInstruction).length;
    const worker = pipeline.worker({ deadlineMarginMs: 3_000, minTurnMs: 1_000 });
    try {
      await pipeline.sendText(chatId, 'Start the long job.');
      // Seven seconds left in the invocation: the run gets four, then is cut.
      const cut = pipeline.deliver(worker, 7_000);
      await waitUntil(async () => (await turnsOf().runningSince('parity:telegram:204:-')) !== null);
      expect((await pipeline.sendText(chatId, '/new')).statusCode).toBe(200);
      expect(failures((await cut).response)).toEqual([]);
      expect(answers(chatId)).toEqual([texts.stillWorking]);

      // The lane now holds the /new, then the continuation: run both out.
      const handled: string[] = [];
      for (let round = 0; round < 4; round++) {
        const { records, response } = await pipeline.deliver(worker);
        if (records.length === 0) break;
        expect(failures(response)).toEqual([]);
        handled.push(
          ...records.map((record) => {
            const { message } = parseJobPayload(record.body);
            return message.continuation ? 'continuation' : JSON.stringify(message.body);
          }),
        );
      }
      expect(handled).toEqual([
        JSON.stringify({ kind: 'command', command: 'new', args: '' }),
        'continuation',
      ]);
      // /new answered; the continuation said nothing and ran no turn.
      expect(answers(chatId)).toEqual([texts.stillWorking, texts.newSession]);
      expect(requestsWith(texts.continueInstruction)).toHaveLength(continuationsBefore);
      expect(await pipeline.sqs.receiveRecords()).toEqual([]);

      await pipeline.sendText(chatId, 'hello again');
      const next = await pipeline.deliver(worker);
      expect(failures(next.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(answers(chatId)).toEqual([texts.stillWorking, texts.newSession, 'echo: hello again']);
    // A fresh session: the model never hears of the task the /new ended.
    const fresh = requestsWith('hello again');
    expect(fresh).toHaveLength(1);
    expect(requestText(fresh[0] as RecordedRequest)).not.toContain('Start the long job.');
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
  });
});
