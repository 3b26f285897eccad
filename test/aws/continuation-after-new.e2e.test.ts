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

// A `/new` sent while a long task runs on AWS lands on the conversation's lane
// before the continuation its cut run queues: by the time the continuation
// comes up, the session it continues is gone. It is dropped unrun (no turn, no
// answer, its message completed), and the next message starts afresh.
// Offline, on the whole path: ingress handler -> SQS FIFO (emulated) ->
// worker handler -> the real agent against a scripted model -> fake Bot API.

let pipeline: AwsPipeline;

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes(texts.continueInstruction)) return reply.text('The long job is finished.');
  if (text.includes('long job')) return reply.text('far too late', { delayMs: 30_000 });
  return reply.text(`echo: ${text}`);
}

const conversation = 'stale:telegram:301:-';
const requestsWith = (fragment: string) =>
  pipeline.model.messageRequests.filter((request) => lastUserText(request).includes(fragment));

beforeAll(async () => {
  pipeline = await startAwsPipeline({
    name: 'stale-continuation',
    respond,
    allowedUserIds: '301',
    tenant: 'stale',
    maxReceiveCount: 12,
    // A status message would be one more message in the chat; this test counts answers.
    worker: { progress: false },
  });
});

afterAll(async () => {
  await pipeline?.close();
});

describe('a continuation overtaken by /new', () => {
  it('is dropped without a turn or an answer, and the next message starts afresh', async () => {
    const chatId = 301;
    const worker = pipeline.worker({ deadlineMarginMs: 3_000, minTurnMs: 1_000 });
    try {
      await pipeline.sendText(chatId, 'Start the long job.');
      // Seven seconds left in the invocation: the run gets four, then is cut.
      const cut = pipeline.deliver(worker, 7_000);
      const turns = new DynamoTurnControl(pipeline.table);
      await waitUntil(async () => (await turns.runningSince(conversation)) !== null);
      expect((await pipeline.sendText(chatId, '/new')).statusCode).toBe(200);
      expect(failures((await cut).response)).toEqual([]);
      expect(pipeline.sentTexts(chatId)).toEqual([texts.stillWorking]);

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
      expect(pipeline.sentTexts(chatId)).toEqual([texts.stillWorking, texts.newSession]);
      expect(requestsWith(texts.continueInstruction)).toEqual([]);
      expect(await pipeline.sqs.receiveRecords()).toEqual([]);

      await pipeline.sendText(chatId, 'hello again');
      const next = await pipeline.deliver(worker);
      expect(failures(next.response)).toEqual([]);
    } finally {
      await worker.close();
    }
    expect(pipeline.sentTexts(chatId)).toEqual([
      texts.stillWorking,
      texts.newSession,
      'echo: hello again',
    ]);
    // A fresh session: the model never hears of the task the /new ended.
    const fresh = requestsWith('hello again');
    expect(fresh).toHaveLength(1);
    expect(requestText(fresh[0] as RecordedRequest)).not.toContain('Start the long job.');
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
  });
});
