import { readdir } from 'node:fs/promises';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoConversationIndex } from '../../src/adapters/aws/dynamo-conversation-index.js';
import { DynamoConversationLease } from '../../src/adapters/aws/dynamo-conversation-lease.js';
import { DynamoTurnControl } from '../../src/adapters/aws/dynamo-turn-control.js';
import { DEFAULT_TEXTS } from '../../src/core/pipeline/conversation-worker.js';
import type { TurnResult } from '../../src/domain/turn.js';
import {
  createDeadLetterHandler,
  type DeadLetterHandler,
} from '../../src/entrypoints/aws/dead-letter-handler.js';
import type { IngressHandler } from '../../src/entrypoints/aws/ingress-handler.js';
import { silentLogger } from '../../src/ports/logger.js';
import type { TurnRunner } from '../../src/ports/turn-runner.js';
import { texts } from '../../src/texts/en.js';
import {
  type AwsPipeline,
  failures,
  secretArn,
  startAwsPipeline,
  waitUntil,
} from '../support/aws-pipeline.js';
import {
  lastUserText,
  type RecordedRequest,
  reply,
  requestText,
} from '../support/scripted-model-server.js';
import { lambdaContext, type SqsEmulator, startSqsEmulator } from '../support/sqs-emulator.js';

// The AWS deployment's whole path, offline: API Gateway event -> ingress
// handler -> SQS FIFO (emulated) -> worker handler fed exactly the records it
// received -> the real agent (Claude Code) against a scripted model ->
// Telegram (fake Bot API); storage in emulated DynamoDB and S3.

const MAX_ATTEMPTS = 2;

let pipeline: AwsPipeline;

function respond(request: RecordedRequest) {
  const text = lastUserText(request);
  if (text.includes('remember the word')) return reply.text('Noted: PAPAYA.');
  if (text.includes('Which word')) return reply.text('The word was PAPAYA.');
  if (text.includes('slow task')) return reply.text('far too late', { delayMs: 30_000 });
  if (text.includes('endless story'))
    return reply.text('Once upon a time '.repeat(40), { stream: { deltas: 40, delayMs: 500 } });
  return reply.text(`echo: ${text}`);
}

beforeAll(async () => {
  pipeline = await startAwsPipeline({
    name: 'pipeline',
    respond,
    allowedUserIds: '101,102,103,104,105,106,110',
    maxAttempts: MAX_ATTEMPTS,
    worker: { env: { SESSION_TTL_DAYS: '25' } },
  });
});

afterAll(async () => {
  await pipeline?.close();
});

/** The ingress handler of the dead-letter tests' people, in front of `queue`. */
const ingressFor = (queue: SqsEmulator): IngressHandler =>
  pipeline.ingressFor('107,108,109', queue);

/** A FIFO queue the dead-letter consumer parks dead letters in (the redrive source). */
async function createParkedQueue(client: SQSClient): Promise<string> {
  const { QueueUrl } = await client.send(
    new CreateQueueCommand({
      QueueName: `parked-${Math.random().toString(36).slice(2, 10)}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  return QueueUrl as string;
}

function deadLetterConsumer(queue: SqsEmulator, parkedQueueUrl: string): DeadLetterHandler {
  return createDeadLetterHandler({
    env: {
      TABLE_NAME: pipeline.aws.tableName,
      TELEGRAM_BOT_TOKEN_SECRET_ARN: secretArn('bot-token'),
      PARKED_QUEUE_URL: parkedQueueUrl,
      TELEGRAM_API_ROOT: pipeline.api.apiRoot,
    },
    secrets: pipeline.secrets,
    dynamo: pipeline.aws.dynamo,
    sqs: queue.client,
    logger: silentLogger,
  });
}

/** What a runner of these tests returns: no session, nothing spent. */
function turnResult(outcome: 'success' | 'error', text: string): TurnResult {
  return {
    outcome,
    text,
    sessionId: null,
    startedSession: false,
    inputTokens: 0,
    outputTokens: 0,
    costUsd: 0,
    durationMs: 1,
  };
}

/** A runner that answers (or fails while `fail()` says so), counting its turns. */
function countingRunner(fail: () => boolean = () => false): TurnRunner & { runs: number } {
  const runner = {
    runs: 0,
    async runTurn(request: { prompt: string }) {
      runner.runs += 1;
      return turnResult(fail() ? 'error' : 'success', `answer: ${request.prompt}`);
    },
    async resetConversation() {},
  };
  return runner;
}

async function receiveAll(client: SQSClient, queueUrl: string) {
  const { Messages } = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      AttributeNames: ['All'],
      MessageSystemAttributeNames: ['All'],
    }),
  );
  return Messages ?? [];
}

describe('AWS pipeline', () => {
  it('answers through ingress, SQS and the worker, and a fresh worker resumes the session', async () => {
    const { model } = pipeline;
    const chatId = 101;
    await pipeline.withWorker(async (first) => {
      expect((await pipeline.sendText(chatId, 'Please remember the word PAPAYA.')).statusCode).toBe(
        200,
      );
      const { records, response } = await pipeline.deliver(first);
      expect(records).toHaveLength(1);
      expect(records[0]?.attributes.MessageGroupId).toBe('e2e:telegram:101:-');
      expect(failures(response)).toEqual([]);
      expect(pipeline.sentTexts(chatId)).toEqual(['Noted: PAPAYA.']);
    });

    // A cold container: nothing on local disk, only DynamoDB and S3 remember.
    await pipeline.emptyLocalDisk();
    await pipeline.withWorker(async (second) => {
      expect(
        (await pipeline.sendText(chatId, 'Which word did I ask you to remember?')).statusCode,
      ).toBe(200);
      const { records, response } = await pipeline.deliver(second);
      expect(records).toHaveLength(1);
      expect(failures(response)).toEqual([]);
    });
    expect(pipeline.sentTexts(chatId)).toEqual(['Noted: PAPAYA.', 'The word was PAPAYA.']);
    const turn2 = model.messageRequests.filter((request) =>
      lastUserText(request).includes('Which word'),
    );
    expect(turn2.length).toBeGreaterThan(0);
    const history = requestText(turn2[0] as RecordedRequest);
    expect(history).toContain('Please remember the word PAPAYA.');
    expect(history).toContain('Noted: PAPAYA.');

    const record = await new DynamoConversationIndex(pipeline.table).get('e2e:telegram:101:-');
    expect(record?.turns).toBe(2);
    // Both containers worked under the data directory only.
    expect(await readdir(pipeline.dataDir)).toEqual(expect.arrayContaining(['tmp', 'workspaces']));
  });

  it('stops a turn before the Lambda deadline, keeps its session and tells the person, with no continuation left', async () => {
    const chatId = 102;
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'Do this slow task please.');
        // Seven seconds left in the invocation: the turn gets four.
        const { response } = await pipeline.deliver(worker, 7_000);
        expect(failures(response)).toEqual([]);
      },
      { deadlineMarginMs: 3_000, minTurnMs: 1_000, env: { MAX_CONTINUATIONS: '0' } },
    );
    expect(pipeline.sentTexts(chatId)).toEqual([texts.deadlineReached]);
    const record = await new DynamoConversationIndex(pipeline.table).get('e2e:telegram:102:-');
    expect(record?.sessionId).toBeTruthy();
    const turns = new DynamoTurnControl(pipeline.table);
    expect(await turns.runningSince('e2e:telegram:102:-')).toBeNull();
  });

  it('stops a running turn on /stop without queueing behind it', async () => {
    const chatId = 103;
    const conversation = 'e2e:telegram:103:-';
    const turns = new DynamoTurnControl(pipeline.table);
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'Another slow task, please.');
        const delivery = pipeline.deliver(worker);
        await waitUntil(async () => (await turns.runningSince(conversation)) !== null);
        expect((await pipeline.sendText(chatId, '/stop')).statusCode).toBe(200);
        const { response } = await delivery;
        expect(failures(response)).toEqual([]);
      },
      { stopPollIntervalMs: 100 },
    );
    expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.stopped]);
    // The stop went straight to the turn: nothing was queued for it.
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
  });

  it('previews the answer as a draft, whose stop button stops the turn through the ingress', async () => {
    const { api } = pipeline;
    const chatId = 110;
    const conversation = 'e2e:telegram:110:-';
    const turns = new DynamoTurnControl(pipeline.table);
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'tell me an endless story');
        const delivery = pipeline.deliver(worker);
        await waitUntil(async () => api.drafts(chatId).length > 0);
        expect(await turns.runningSince(conversation)).not.toBeNull();
        const [draft] = api.drafts(chatId);
        expect(draft?.canStop).toBe(true);
        const stop = {
          stopped_message_generation: {
            chat: { id: chatId, type: 'private', first_name: 'Ada' },
            draft_id: draft?.draftId,
          },
        };
        expect((await pipeline.sendUpdate(stop)).statusCode).toBe(200);
        const { response } = await delivery;
        expect(failures(response)).toEqual([]);
      },
      { stopPollIntervalMs: 100 },
    );
    expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.stopped]);
    // Like /stop: straight to the running turn, nothing queued.
    expect(await pipeline.sqs.receiveRecords()).toEqual([]);
  });

  it('sends one failure message on the last receive, then the message is dead-lettered', async () => {
    const { api, sqs } = pipeline;
    const chatId = 104;
    let runs = 0;
    const failing: TurnRunner = {
      async runTurn() {
        runs += 1;
        return turnResult('error', '');
      },
      async resetConversation() {},
    };
    const handles: string[] = [];
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'this keeps failing');
        for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) {
          // Hidden for a second per receive: the emulator's stand-in for the
          // worker's visibility change (see test/support/sqs-emulator.ts).
          const { records, response } = await pipeline.deliverNext(worker);
          handles.push(...records.map((record) => record.receiptHandle));
          expect(records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
            String(receive),
          ]);
          expect(failures(response)).toEqual(records.map((record) => record.messageId));
          // Retries are silent; only the last receive tells the person.
          expect(api.sentMessages(chatId)).toHaveLength(receive === MAX_ATTEMPTS ? 1 : 0);
        }
        // SQS moves it to the dead-letter queue instead of delivering it a third time.
        let dead: Awaited<ReturnType<SqsEmulator['deadLetters']>> = [];
        await waitUntil(async () => {
          dead = await sqs.deadLetters();
          return dead.length > 0;
        });
        expect(dead.map((entry) => JSON.parse(entry.Body ?? '{}').message?.body)).toEqual([
          { kind: 'text', text: 'this keeps failing' },
        ]);
        expect((await pipeline.deliver(worker)).records).toEqual([]);
      },
      { runner: failing, retryDelaySeconds: () => 0 },
    );
    // Each failed receive asked to be visible again at once (the retry delay here).
    expect(
      sqs.visibilityChanges.filter((change) => handles.includes(change.receiptHandle)),
    ).toEqual(handles.map((receiptHandle) => ({ receiptHandle, visibilityTimeout: 0 })));
    expect(runs).toBe(MAX_ATTEMPTS);
    expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.failed]);
  });

  it('holds back the rest of a failed conversation in the batch, not other conversations', async () => {
    // Its two waiting messages make one turn, which fails: both go back.
    const prompts: string[] = [];
    const runner: TurnRunner = {
      async runTurn(request) {
        prompts.push(request.prompt);
        return turnResult(request.prompt.startsWith('fail') ? 'error' : 'success', 'ok');
      },
      async resetConversation() {},
    };
    // Both conversations run in this invocation (none handed back), one after the other.
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(105, 'fail first');
        await pipeline.sendText(105, 'second, held back');
        await pipeline.sendText(106, 'other conversation');
        const { records, response } = await pipeline.deliver(worker);
        const byText = new Map(
          records.map((record) => [JSON.parse(record.body).message.body.text as string, record]),
        );
        expect([...byText.keys()].sort()).toEqual([
          'fail first',
          'other conversation',
          'second, held back',
        ]);
        const id = (text: string) => byText.get(text)?.messageId;
        expect(failures(response).sort()).toEqual(
          [id('fail first'), id('second, held back')].sort(),
        );
        expect(prompts.sort()).toEqual(['fail first\n\nsecond, held back', 'other conversation']);
        // The failed message waits for its backoff; the one behind it is not kept waiting longer.
        const visibility = (text: string) =>
          pipeline.sqs.visibilityChanges.find(
            (change) => change.receiptHandle === byText.get(text)?.receiptHandle,
          )?.visibilityTimeout;
        expect(visibility('fail first')).toBe(30);
        expect(visibility('second, held back')).toBe(0);
        expect(pipeline.sentTexts(106)).toEqual(['ok']);
      },
      { runner, retryDelaySeconds: () => 30, handBackReceives: 0 },
    );
  });

  it('reports a queue message that is not a job as failed without crashing or answering', async () => {
    const { api, sqs } = pipeline;
    const before = api.calls.length;
    await pipeline.withWorker(
      async (worker) => {
        await sqs.client.send(
          new SendMessageCommand({
            QueueUrl: sqs.queueUrl,
            MessageBody: '{"v":1,"kind":"turn","message":{"id":""}}',
            MessageGroupId: 'garbage',
            MessageDeduplicationId: 'garbage-1',
          }),
        );
        const { records, response } = await pipeline.deliver(worker);
        expect(failures(response)).toEqual(records.map((record) => record.messageId));
      },
      { runner: unusedRunner() },
    );
    expect(api.calls.length).toBe(before);
  });
});

describe('AWS pipeline: dead letters', () => {
  // A queue whose receives outnumber the worker's attempts, as the stack sets it up.
  let roomy: SqsEmulator;

  beforeAll(async () => {
    roomy = await startSqsEmulator({ maxReceiveCount: MAX_ATTEMPTS + 2 });
  });

  afterAll(async () => {
    await roomy?.stop();
  });

  it('tells the person once when the worker was killed on the last receive, and parks the job', async () => {
    const { sqs } = pipeline;
    const chatId = 107;
    const runner = countingRunner(() => true);
    const worker = pipeline.worker({ runner, retryDelaySeconds: () => 0 });
    const parkedUrl = await createParkedQueue(sqs.client);
    try {
      await pipeline.sendText(chatId, 'this one gets the worker killed', ingressFor(sqs));
      // First receive: a failed attempt, retried silently.
      const first = await pipeline.deliverNext(worker);
      expect(failures(first.response)).toEqual(first.records.map((record) => record.messageId));
      // Last receive: the invocation is killed (out of memory) and answers nothing.
      await waitUntil(async () => (await sqs.receiveRecords(10, 1)).length > 0);
    } finally {
      await worker.close();
    }
    expect(pipeline.api.sentMessages(chatId)).toEqual([]);

    const consumer = deadLetterConsumer(sqs, parkedUrl);
    let consumed: Awaited<ReturnType<SqsEmulator['deliverDeadLetters']>> | undefined;
    await waitUntil(async () => {
      // SQS moves the message on the receive after its last.
      await sqs.deliver(worker.handle, lambdaContext(), { visibilityTimeoutSeconds: 1 });
      consumed = await sqs.deliverDeadLetters(consumer, lambdaContext());
      return consumed.records.length > 0;
    });
    expect(failures(consumed?.response)).toEqual([]);
    expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.failed]);
    expect(runner.runs).toBe(1);
    // Parked for an operator, not gone: the body is the job, ready for a redrive.
    const parked = await receiveAll(sqs.client, parkedUrl);
    expect(parked.map((entry) => JSON.parse(entry.Body ?? '{}').message?.body)).toEqual([
      { kind: 'text', text: 'this one gets the worker killed' },
    ]);
  });

  it('does not use up an attempt on a lease conflict: busy receives run nothing, the next one answers', async () => {
    const chatId = 108;
    const conversation = 'e2e:telegram:108:-';
    const runner = countingRunner();
    const leases = new DynamoConversationLease(pipeline.table);
    const held = await leases.acquire(conversation, 'another-invocation', 600_000);
    expect(held).not.toBeNull();
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'wait for the other turn', ingressFor(roomy));
        // As many receives as the worker has attempts, each finding the conversation busy.
        for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) {
          const { records, response } = await pipeline.deliverNext(worker, { queue: roomy });
          expect(records.map((record) => record.attributes.ApproximateReceiveCount)).toEqual([
            String(receive),
          ]);
          expect(failures(response)).toEqual(records.map((record) => record.messageId));
        }
        expect(runner.runs).toBe(0);
        if (held) await leases.release(held);
        const { response } = await pipeline.deliverNext(worker, { queue: roomy });
        expect(failures(response)).toEqual([]);
      },
      { runner, queue: roomy },
    );
    expect(runner.runs).toBe(1);
    expect(pipeline.sentTexts(chatId)).toEqual(['answer: wait for the other turn']);
  });

  it('runs a job redriven from the dead-letter queue again, and answers it', async () => {
    const chatId = 109;
    let failing = true;
    const runner = countingRunner(() => failing);
    const parkedUrl = await createParkedQueue(roomy.client);
    const consumer = deadLetterConsumer(roomy, parkedUrl);
    await pipeline.withWorker(
      async (worker) => {
        await pipeline.sendText(chatId, 'worth another go', ingressFor(roomy));
        // Attempts run out, the person is told, the receives run out: dead-lettered, parked.
        await waitUntil(async () => {
          await roomy.deliver(worker.handle, lambdaContext(), { visibilityTimeoutSeconds: 1 });
          return (await roomy.deliverDeadLetters(consumer, lambdaContext())).records.length > 0;
        });
        expect(runner.runs).toBe(MAX_ATTEMPTS);
        expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.failed]);

        // The operator fixed the cause and redrives the parked message into the job queue.
        failing = false;
        const [parked] = await receiveAll(roomy.client, parkedUrl);
        expect(parked).toBeDefined();
        await roomy.client.send(
          new SendMessageCommand({
            QueueUrl: roomy.queueUrl,
            MessageBody: parked?.Body,
            MessageGroupId: parked?.Attributes?.MessageGroupId,
            // The emulator would drop the original id as a repeat; SQS's move task does not.
            MessageDeduplicationId: `redrive-${parked?.MessageId}`,
          }),
        );
        await roomy.client.send(
          new DeleteMessageCommand({ QueueUrl: parkedUrl, ReceiptHandle: parked?.ReceiptHandle }),
        );
        const { response } = await pipeline.deliverNext(worker, { queue: roomy });
        expect(failures(response)).toEqual([]);
      },
      { runner, retryDelaySeconds: () => 0, queue: roomy },
    );
    expect(runner.runs).toBe(MAX_ATTEMPTS + 1);
    expect(pipeline.sentTexts(chatId)).toEqual([DEFAULT_TEXTS.failed, 'answer: worth another go']);
  });
});

function unusedRunner(): TurnRunner {
  return {
    runTurn: () => Promise.reject(new Error('no turn expected')),
    resetConversation: () => Promise.reject(new Error('no reset expected')),
  };
}
