import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner, gatedTurn } from '../../../test/support/fake-turn-runner.js';
import { command, testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { ConversationWorker, DEFAULT_TEXTS } from '../../core/pipeline/conversation-worker.js';
import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { ConversationLease, Lease } from '../../ports/conversation-lease.js';
import { InMemoryTurnControl } from '../memory/in-memory-turn-control.js';
import type { JobAttempts } from './dynamo-job-attempts.js';
import { messageGroupId } from './sqs-job-sink.js';
import {
  defaultRetryDelaySeconds,
  type MessageVisibility,
  RecordFailedError,
  SqsRecordProcessor,
  type SqsRecordProcessorOptions,
} from './sqs-record-processor.js';

const MAX_ATTEMPTS = 3;
const NOW = 50_000_000;
/** The invocation has ten minutes left; turns must end one minute before that. */
const ENDS_AT = NOW + 600_000;
const DEADLINE_AT = ENDS_AT - 60_000;

/** Leases in a Map, with the same rules as the DynamoDB one. */
class MemoryConversationLease implements ConversationLease {
  readonly held = new Map<string, Lease>();
  readonly acquired: Array<{ conversationId: string; owner: string; durationMs: number }> = [];
  readonly released: Lease[] = [];
  private tokens = 0;

  constructor(private readonly now: () => number) {}

  async acquire(conversationId: string, owner: string, durationMs: number): Promise<Lease | null> {
    this.acquired.push({ conversationId, owner, durationMs });
    const current = this.held.get(conversationId);
    if (current && current.owner !== owner && current.expiresAt > this.now()) return null;
    const lease = {
      conversationId,
      owner,
      expiresAt: this.now() + durationMs,
      token: ++this.tokens,
    };
    this.held.set(conversationId, lease);
    return { ...lease };
  }

  async renew(lease: Lease, durationMs: number): Promise<Lease | null> {
    const current = this.held.get(lease.conversationId);
    if (current?.token !== lease.token) return null;
    current.expiresAt = this.now() + durationMs;
    return { ...current };
  }

  async release(lease: Lease): Promise<boolean> {
    const current = this.held.get(lease.conversationId);
    if (current?.token !== lease.token) return false;
    this.held.delete(lease.conversationId);
    this.released.push(lease);
    return true;
  }
}

/** Records the visibility changes asked for; can be made to fail. */
class RecordingVisibility implements MessageVisibility {
  readonly changes: Array<{ messageId: string; seconds: number }> = [];
  failure: Error | undefined;

  async change(record: SQSRecord, seconds: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.changes.push({ messageId: record.messageId, seconds });
  }
}

/** Attempt counts in a Map, with the same rules as DynamoJobAttempts. */
class MemoryJobAttempts implements JobAttempts {
  readonly counts = new Map<string, number>();
  readonly deadLettered = new Set<string>();

  async begin(jobId: string): Promise<number | 'redriven'> {
    if (this.deadLettered.has(jobId)) return 'redriven';
    const count = (this.counts.get(jobId) ?? 0) + 1;
    this.counts.set(jobId, count);
    return count;
  }
  async restart(jobId: string): Promise<number> {
    this.deadLettered.delete(jobId);
    this.counts.set(jobId, 1);
    return 1;
  }
  async markDeadLettered(jobId: string): Promise<void> {
    this.deadLettered.add(jobId);
  }
}

let nextRecord = 0;

function sqsRecord(body: string, groupId: string, receiveCount = 1): SQSRecord {
  nextRecord++;
  return {
    messageId: `record-${nextRecord}`,
    receiptHandle: `handle-${nextRecord}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(NOW),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: String(NOW),
      MessageGroupId: groupId,
      MessageDeduplicationId: `dedupe-${nextRecord}`,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:jobs.fifo',
    awsRegion: 'us-east-1',
  };
}

/** A record as the ingress enqueues it (SqsJobSink): the lane's group, the job body. */
function jobRecord(kind: LaneKind, message: InboundMessage, receiveCount = 1): SQSRecord {
  return sqsRecord(
    JSON.stringify({ v: 1, kind, message }),
    messageGroupId(message, kind),
    receiveCount,
  );
}

describe('SqsRecordProcessor', () => {
  let runner: FakeTurnRunner;
  let channel: FakeChannel;
  let outbox: MemoryReplyOutbox;
  let turns: InMemoryTurnControl;
  let worker: ConversationWorker;
  let lease: MemoryConversationLease;
  let visibility: RecordingVisibility;
  let handled: number;

  const processor = (extra: Partial<SqsRecordProcessorOptions> = {}) =>
    new SqsRecordProcessor({
      worker: {
        handle: (input) => {
          handled++;
          return worker.handle(input);
        },
      },
      lease,
      visibility,
      owner: 'invocation-1',
      deadlineAt: DEADLINE_AT,
      endsAt: ENDS_AT,
      minTurnMs: 30_000,
      retryDelaySeconds: (attempt) => attempt * 10,
      now: () => NOW,
      ...extra,
    });
  const failures = (response: { batchItemFailures: Array<{ itemIdentifier: string }> }) =>
    response.batchItemFailures.map((item) => item.itemIdentifier);
  const failingTurn = () => ({ outcome: 'error' as const, text: '' });

  beforeEach(() => {
    runner = new FakeTurnRunner();
    channel = new FakeChannel();
    outbox = new MemoryReplyOutbox();
    turns = new InMemoryTurnControl(() => NOW);
    worker = new ConversationWorker({
      runner,
      channel,
      outbox,
      turns,
      conversations: fixedConversationIndex({}),
      maxAttempts: MAX_ATTEMPTS,
      progress: false,
      now: () => NOW,
    });
    lease = new MemoryConversationLease(() => NOW);
    visibility = new RecordingVisibility();
    handled = 0;
  });

  it('succeeds with an answered record, holding the lease until the invocation ends', async () => {
    const message = testMessage({ chatId: 7, text: 'hi' });
    const record = jobRecord('turn', message);
    const response = await processor().process([record]);
    expect(failures(response)).toEqual([]);
    expect(channel.texts()).toEqual(['echo: hi']);
    expect(lease.acquired).toEqual([
      {
        conversationId: conversationId(message.conversation),
        owner: 'invocation-1',
        durationMs: ENDS_AT - NOW,
      },
    ]);
    expect(lease.released).toHaveLength(1);
    expect(lease.held.size).toBe(0);
    // SQS deletes it: no visibility of its own.
    expect(visibility.changes).toEqual([]);
  });

  it('fails a record to retry, visible again after the backoff of its attempt', async () => {
    runner.next(failingTurn);
    const record = jobRecord('turn', testMessage({ text: 'flaky' }), 2);
    const response = await processor().process([record]);
    expect(failures(response)).toEqual([record.messageId]);
    expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 20 }]);
    // Retries are silent.
    expect(channel.sent).toEqual([]);
    expect(lease.held.size).toBe(0);
  });

  it('on the last receive sends one failure message and fails the record so it dead-letters', async () => {
    runner.setFallback(failingTurn);
    const message = testMessage({ text: 'this keeps failing' });
    const last = jobRecord('turn', message, MAX_ATTEMPTS);
    const response = await processor().process([last]);
    expect(failures(response)).toEqual([last.messageId]);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
    // At once: the redrive policy moves it to the dead-letter queue.
    expect(visibility.changes).toEqual([{ messageId: last.messageId, seconds: 0 }]);

    // Delivered once more anyway: the outbox answers, the person is not told twice.
    const again = jobRecord('turn', message, MAX_ATTEMPTS + 1);
    await expect(processor().processRecord(again)).rejects.toBeInstanceOf(RecordFailedError);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
    expect(runner.requests).toHaveLength(1);
  });

  it('retries later, without a turn, when another invocation holds the conversation', async () => {
    const message = testMessage({ chatId: 9 });
    const id = conversationId(message.conversation);
    await lease.acquire(id, 'invocation-0', 600_000);
    const record = jobRecord('turn', message);
    const response = await processor({ leaseBusyDelaySeconds: 45 }).process([record]);
    expect(failures(response)).toEqual([record.messageId]);
    expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 45 }]);
    expect(handled).toBe(0);
    expect(lease.held.get(id)?.owner).toBe('invocation-0');
  });

  it('waits for the default 60 s when the conversation is busy', async () => {
    const message = testMessage();
    await lease.acquire(conversationId(message.conversation), 'invocation-0', 600_000);
    const record = jobRecord('turn', message);
    await processor().process([record]);
    expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 60 }]);
  });

  it('answers a control-lane record without taking the lease, even while a turn holds it', async () => {
    const message = testMessage({ chatId: 11, body: command('help') });
    await lease.acquire(conversationId(message.conversation), 'invocation-0', 600_000);
    lease.acquired.length = 0;
    const response = await processor().process([jobRecord('control', message)]);
    expect(failures(response)).toEqual([]);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.help]);
    expect(lease.acquired).toEqual([]);
  });

  it('runs the control lane beside the turn lane: /stop reaches a turn of the same batch', async () => {
    const gate = gatedTurn('too late');
    runner.next(gate.turn);
    const turn = jobRecord('turn', testMessage({ chatId: 12, text: 'long task' }));
    const stop = jobRecord('control', testMessage({ chatId: 12, body: command('stop') }));
    // The /stop goes to the core once the turn is running.
    const beside = processor({
      worker: {
        handle: async (input) => {
          if (input.kind === 'control') await gate.started;
          return worker.handle(input);
        },
      },
    });
    // Were the /stop held behind the turn, the turn would end on its own, unstopped.
    const guard = setTimeout(gate.release, 2_000);
    const response = await beside.process([turn, stop]).finally(() => clearTimeout(guard));
    expect(failures(response)).toEqual([]);
    // The stopped turn answers for itself; the /stop adds nothing.
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.stopped]);
    expect(lease.acquired).toHaveLength(1);
  });

  it('fails a body that is not a job at once, without reaching the core', async () => {
    const records = [
      sqsRecord('not json at all', 'garbage'),
      sqsRecord('{"v":1,"kind":"turn","message":{"id":""}}', 'garbage-2'),
    ];
    const response = await processor().process(records);
    expect(failures(response).sort()).toEqual(records.map((record) => record.messageId).sort());
    expect(visibility.changes).toEqual(
      expect.arrayContaining(
        records.map((record) => ({ messageId: record.messageId, seconds: 0 })),
      ),
    );
    expect(handled).toBe(0);
    expect(lease.acquired).toEqual([]);
    expect(channel.sent).toEqual([]);
  });

  it("holds an album's first item back until its siblings can have arrived, then answers them in one turn", async () => {
    const photo = (id: string, receivedAt: number): InboundMessage => ({
      ...testMessage({ chatId: 12, text: `photo ${id}` }),
      mediaGroupId: 'album-1',
      receivedAt,
    });
    const young = jobRecord('turn', photo('a', NOW - 400));
    await expect(processor().processRecord(young)).rejects.toThrow('album held back');
    // Back after the rest of the 1.5 s wait, rounded up to SQS's whole seconds.
    expect(visibility.changes).toEqual([{ messageId: young.messageId, seconds: 2 }]);
    expect(handled).toBe(0);
    expect(lease.acquired).toEqual([]);

    visibility.changes.length = 0;
    const records = [
      jobRecord('turn', photo('a', NOW - 1_600), 2),
      jobRecord('turn', photo('b', NOW - 1_300), 1),
      jobRecord('turn', photo('c', NOW - 1_200), 1),
    ];
    const response = await processor().process(records);
    expect(failures(response)).toEqual([]);
    expect(handled).toBe(1);
    expect(runner.prompts).toEqual(['photo a\n\nphoto b\n\nphoto c']);
  });

  it('does not start a turn with too little of the invocation left', async () => {
    const record = jobRecord('turn', testMessage());
    const late = processor({ now: () => DEADLINE_AT - 10_000 });
    await expect(late.processRecord(record)).rejects.toThrow('too little time left');
    expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 0 }]);
    expect(lease.acquired).toEqual([]);
    expect(handled).toBe(0);
  });

  it('holds back the rest of a failed group, not other groups, and frees the held-back at once', async () => {
    runner.setFallback((request) =>
      request.prompt.startsWith('fail') ? failingTurn() : { text: `ok: ${request.prompt}` },
    );
    const first = jobRecord('turn', testMessage({ chatId: 21, text: 'fail first' }));
    // A /new stands alone (a text would join the failing turn): held back behind it.
    const second = jobRecord('turn', testMessage({ chatId: 21, body: command('new') }));
    const other = jobRecord('turn', testMessage({ chatId: 22, text: 'other' }));
    const response = await processor().process([first, second, other]);
    expect(failures(response).sort()).toEqual([first.messageId, second.messageId].sort());
    expect(runner.prompts.sort()).toEqual(['fail first', 'other']);
    expect(visibility.changes.sort((a, b) => a.messageId.localeCompare(b.messageId))).toEqual(
      [
        { messageId: first.messageId, seconds: 10 },
        { messageId: second.messageId, seconds: 0 },
      ].sort((a, b) => a.messageId.localeCompare(b.messageId)),
    );
    expect(channel.texts()).toEqual(['ok: other']);
  });

  describe("combining a conversation's waiting messages", () => {
    it('answers consecutive turn-lane records of one group with one turn, in order, and deletes them all', async () => {
      const texts = ['first', 'second', 'third'];
      const records = texts.map((text) => jobRecord('turn', testMessage({ chatId: 41, text })));
      const other = jobRecord('turn', testMessage({ chatId: 42, text: 'elsewhere' }));
      // SQS orders only within a group: another conversation's record may sit in between.
      const batch = [records[0], other, records[1], records[2]] as SQSRecord[];
      const response = await processor().process(batch);
      expect(failures(response)).toEqual([]);
      expect(handled).toBe(2);
      expect(runner.prompts).toEqual(['first\n\nsecond\n\nthird', 'elsewhere']);
      expect(channel.texts()).toEqual(['echo: first\n\nsecond\n\nthird', 'echo: elsewhere']);
      // One lease per turn, not per record.
      expect(lease.acquired).toHaveLength(2);
      expect(visibility.changes).toEqual([]);
    });

    it('lets /new stand alone between the turns before and after it', async () => {
      const batch = [
        jobRecord('turn', testMessage({ chatId: 43, text: 'before' })),
        jobRecord('turn', testMessage({ chatId: 43, body: command('new') })),
        jobRecord('turn', testMessage({ chatId: 43, text: 'after one' })),
        jobRecord('turn', testMessage({ chatId: 43, text: 'after two' })),
      ];
      const response = await processor().process(batch);
      expect(failures(response)).toEqual([]);
      expect(handled).toBe(3);
      expect(runner.prompts).toEqual(['before', 'after one\n\nafter two']);
      expect(runner.resets).toHaveLength(1);
      expect(channel.texts()).toEqual([
        'echo: before',
        DEFAULT_TEXTS.newSession,
        'echo: after one\n\nafter two',
      ]);
    });

    it('fails every record of a failed combined turn and the rest of its group, the head after its backoff', async () => {
      runner.next(failingTurn);
      const head = jobRecord('turn', testMessage({ chatId: 44, text: 'one' }), 2);
      const joined = jobRecord('turn', testMessage({ chatId: 44, text: 'two' }));
      const reset = jobRecord('turn', testMessage({ chatId: 44, body: command('new') }));
      const after = jobRecord('turn', testMessage({ chatId: 44, text: 'three' }));
      const response = await processor().process([head, joined, reset, after]);
      expect(failures(response).sort()).toEqual(
        [head, joined, reset, after].map((record) => record.messageId).sort(),
      );
      expect(runner.prompts).toEqual(['one\n\ntwo']);
      expect(runner.resets).toEqual([]);
      expect(channel.sent).toEqual([]);
      const seconds = new Map(
        visibility.changes.map((change) => [change.messageId, change.seconds]),
      );
      expect(seconds.get(head.messageId)).toBe(20);
      for (const record of [joined, reset, after]) expect(seconds.get(record.messageId)).toBe(0);
      expect(lease.held.size).toBe(0);
    });

    it('hands back at once the records an answer saved earlier does not cover', async () => {
      const head = testMessage({ chatId: 45, text: 'answered before a crash' });
      await outbox.put(head.id, {
        messageIds: [head.id],
        parts: channel.formatPlain('saved answer'),
        disposition: 'answered',
      });
      const headRecord = jobRecord('turn', head, 2);
      const late = jobRecord('turn', testMessage({ chatId: 45, text: 'arrived later' }));
      const response = await processor().process([headRecord, late]);
      // The saved answer is delivered, the turn not run again; the later message gets its own turn.
      expect(failures(response)).toEqual([late.messageId]);
      expect(visibility.changes).toEqual([{ messageId: late.messageId, seconds: 0 }]);
      expect(runner.requests).toEqual([]);
      expect(channel.texts()).toEqual(['saved answer']);
    });

    it('gives a combined turn up once, and records its followers as told', async () => {
      runner.setFallback(failingTurn);
      const attempts = new MemoryJobAttempts();
      const first = testMessage({ chatId: 46, text: 'a' });
      const second = testMessage({ chatId: 46, text: 'b' });
      // The head was tried before; the unit is as far along as its most tried message.
      attempts.counts.set(first.id, MAX_ATTEMPTS - 1);
      const records = [jobRecord('turn', first, 9), jobRecord('turn', second, 1)];
      const response = await processor({ attempts, outbox }).process(records);
      expect(failures(response).sort()).toEqual(records.map((record) => record.messageId).sort());
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
      expect(visibility.changes).toEqual(
        expect.arrayContaining(records.map(({ messageId }) => ({ messageId, seconds: 0 }))),
      );
      // The dead-letter consumer finds the follower told, and tells nobody twice.
      expect((await outbox.get(second.id))?.disposition).toBe('failed');
      expect((await outbox.get(second.id))?.parts).toEqual([]);
    });

    it('hands other conversations of the batch back at once, until their receives say run here', async () => {
      const mine = [
        jobRecord('turn', testMessage({ chatId: 48, text: 'mine' })),
        jobRecord('turn', testMessage({ chatId: 48, text: 'mine too' })),
      ];
      const fresh = jobRecord('turn', testMessage({ chatId: 49, text: 'fresh' }), 2);
      const worn = jobRecord('turn', testMessage({ chatId: 50, text: 'handed back often' }), 3);
      const help = jobRecord('control', testMessage({ chatId: 49, body: command('help') }));
      const batch = [mine[0], fresh, mine[1], worn, help] as SQSRecord[];
      const response = await processor({ handBackReceives: 2 }).process(batch);
      expect(failures(response)).toEqual([fresh.messageId]);
      expect(visibility.changes).toEqual([{ messageId: fresh.messageId, seconds: 0 }]);
      // No attempt, no turn for the handed-back one; the worn one runs here, after the first.
      expect(runner.prompts).toEqual(['mine\n\nmine too', 'handed back often']);
      expect(channel.texts()).toEqual(
        expect.arrayContaining([DEFAULT_TEXTS.help, 'echo: mine\n\nmine too']),
      );
    });

    it('combines only turn-lane records: control records stay one each', async () => {
      const records = [
        jobRecord('control', testMessage({ chatId: 47, body: command('help') })),
        jobRecord('control', testMessage({ chatId: 47, body: command('help') })),
      ];
      const response = await processor().process(records);
      expect(failures(response)).toEqual([]);
      expect(handled).toBe(2);
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.help, DEFAULT_TEXTS.help]);
    });
  });

  it('retries after the backoff when the lease cannot be read, and releases it when the core throws', async () => {
    const broken = Object.assign(new MemoryConversationLease(() => NOW), {
      acquire: async () => {
        throw new Error('throttled');
      },
    });
    const record = jobRecord('turn', testMessage());
    await expect(processor({ lease: broken }).processRecord(record)).rejects.toThrow('throttled');
    expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 10 }]);

    const failingCore = processor({
      worker: {
        handle: async () => {
          throw new Error('outbox unavailable');
        },
      },
    });
    const next = jobRecord('turn', testMessage(), 3);
    await expect(failingCore.processRecord(next)).rejects.toThrow('outbox unavailable');
    expect(visibility.changes.at(-1)).toEqual({ messageId: next.messageId, seconds: 30 });
    expect(lease.released).toHaveLength(1);
    expect(lease.held.size).toBe(0);
  });

  it('still fails the record when the visibility cannot be changed', async () => {
    runner.next(failingTurn);
    visibility.failure = new Error('access denied');
    const record = jobRecord('turn', testMessage());
    const response = await processor().process([record]);
    expect(failures(response)).toEqual([record.messageId]);
  });

  it('backs off exponentially by default, up to five minutes', () => {
    expect([1, 2, 3, 4, 5, 6].map(defaultRetryDelaySeconds)).toEqual([15, 30, 60, 120, 240, 300]);
  });

  describe('with counted attempts', () => {
    let attempts: MemoryJobAttempts;
    const counted = (extra: Partial<SqsRecordProcessorOptions> = {}) =>
      processor({ attempts, outbox, ...extra });

    beforeEach(() => {
      attempts = new MemoryJobAttempts();
    });

    it('does not use up an attempt on a lease conflict, even on what SQS counts as the last receive', async () => {
      const message = testMessage({ chatId: 31, text: 'wait your turn' });
      const id = conversationId(message.conversation);
      await lease.acquire(id, 'invocation-0', 600_000);
      // Every receive so far found the conversation busy.
      for (let receive = 1; receive <= MAX_ATTEMPTS; receive++) {
        const busy = jobRecord('turn', message, receive);
        await expect(counted().processRecord(busy)).rejects.toThrow('conversation busy');
      }
      expect(handled).toBe(0);
      expect(attempts.counts.get(message.id)).toBeUndefined();
      expect(channel.sent).toEqual([]);

      lease.held.clear();
      const free = jobRecord('turn', message, MAX_ATTEMPTS + 1);
      expect(failures(await counted().process([free]))).toEqual([]);
      // The first real attempt: it runs, rather than being given up as interrupted.
      expect(runner.prompts).toEqual(['wait your turn']);
      expect(channel.texts()).toEqual(['echo: wait your turn']);
      expect(attempts.counts.get(message.id)).toBe(1);
    });

    it('decides retries and giving up by the counted attempt, not the receive count', async () => {
      runner.setFallback(failingTurn);
      const message = testMessage({ text: 'flaky again' });
      const record = jobRecord('turn', message, 7);
      await expect(counted().processRecord(record)).rejects.toBeInstanceOf(RecordFailedError);
      // Attempt 1 of 3: a silent retry after the first backoff.
      expect(visibility.changes).toEqual([{ messageId: record.messageId, seconds: 10 }]);
      expect(channel.sent).toEqual([]);
      for (let n = 2; n <= MAX_ATTEMPTS; n++) {
        await expect(
          counted().processRecord(jobRecord('turn', message, 7 + n)),
        ).rejects.toBeInstanceOf(RecordFailedError);
      }
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
      expect(runner.requests).toHaveLength(MAX_ATTEMPTS);
    });

    it('runs a job redriven from the dead-letter queue afresh instead of ending on its failure notice', async () => {
      runner.next(failingTurn);
      const message = testMessage({ chatId: 32, text: 'try me again' });
      const single = processor({
        attempts,
        outbox,
        worker: {
          handle: (input) => {
            handled++;
            return new ConversationWorker({
              runner,
              channel,
              outbox,
              turns,
              conversations: fixedConversationIndex({}),
              maxAttempts: 1,
              progress: false,
              now: () => NOW,
            }).handle(input);
          },
        },
      });
      await expect(single.processRecord(jobRecord('turn', message))).rejects.toBeInstanceOf(
        RecordFailedError,
      );
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
      expect((await outbox.get(message.id))?.disposition).toBe('failed');

      // On its way to the dead-letter queue it still ends on the notice...
      await expect(single.processRecord(jobRecord('turn', message, 2))).rejects.toBeInstanceOf(
        RecordFailedError,
      );
      expect(runner.requests).toHaveLength(1);

      // ...but once it got there (the dead-letter consumer marks it), a redrive runs it again.
      await attempts.markDeadLettered(message.id);
      const redriven = jobRecord('turn', message, 1);
      expect(failures(await single.process([redriven]))).toEqual([]);
      expect(runner.requests).toHaveLength(2);
      expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed, 'echo: try me again']);
      expect(attempts.counts.get(message.id)).toBe(1);
      expect(attempts.deadLettered.has(message.id)).toBe(false);
    });
  });
});
