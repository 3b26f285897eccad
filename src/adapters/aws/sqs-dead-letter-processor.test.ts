import type { SQSRecord } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { FakeChannel } from '../../../test/support/fake-channel.js';
import { FakeTurnRunner } from '../../../test/support/fake-turn-runner.js';
import { testMessage } from '../../../test/support/inbound-messages.js';
import { fixedConversationIndex, MemoryReplyOutbox } from '../../../test/support/memory-stores.js';
import { ConversationWorker, DEFAULT_TEXTS } from '../../core/pipeline/conversation-worker.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import { InMemoryTurnControl } from '../memory/in-memory-turn-control.js';
import { type DeadLetterPark, SqsDeadLetterProcessor } from './sqs-dead-letter-processor.js';
import { messageGroupId } from './sqs-job-sink.js';

let nextRecord = 0;

function deadLetter(body: string, groupId = 'group'): SQSRecord {
  nextRecord++;
  return {
    messageId: `dead-${nextRecord}`,
    receiptHandle: `handle-${nextRecord}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '0',
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: '0',
      MessageGroupId: groupId,
      MessageDeduplicationId: `dedupe-${nextRecord}`,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:dead-letters.fifo',
    awsRegion: 'us-east-1',
  };
}

const job = (message: InboundMessage) =>
  deadLetter(JSON.stringify({ v: 1, kind: 'turn', message }), messageGroupId(message, 'turn'));

describe('SqsDeadLetterProcessor', () => {
  let runner: FakeTurnRunner;
  let channel: FakeChannel;
  let outbox: MemoryReplyOutbox;
  let parked: string[];
  let marked: string[];
  let parkFails: boolean;
  let processor: SqsDeadLetterProcessor;

  beforeEach(() => {
    runner = new FakeTurnRunner();
    channel = new FakeChannel();
    outbox = new MemoryReplyOutbox();
    parked = [];
    marked = [];
    parkFails = false;
    const park: DeadLetterPark = {
      async park(record) {
        if (parkFails) throw new Error('parked queue unavailable');
        parked.push(record.messageId);
      },
    };
    processor = new SqsDeadLetterProcessor({
      notifier: new ConversationWorker({
        runner,
        channel,
        outbox,
        turns: new InMemoryTurnControl(),
        conversations: fixedConversationIndex({}),
        maxAttempts: 1,
        progress: false,
      }),
      attempts: {
        async markDeadLettered(jobId) {
          marked.push(jobId);
        },
      },
      park,
    });
  });

  it('tells the person once when nobody did (a worker killed on its last receives) and parks the job', async () => {
    const message = testMessage({ chatId: 41, text: 'lost in a crash' });
    const record = job(message);
    expect((await processor.process([record])).batchItemFailures).toEqual([]);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
    expect(runner.requests).toEqual([]);
    expect(marked).toEqual([message.id]);
    expect(parked).toEqual([record.messageId]);
    // The notice is recorded: the same dead letter again (a retried batch) says nothing more.
    expect((await outbox.get(message.id))?.disposition).toBe('failed');
    await processor.process([job(message)]);
    expect(channel.texts()).toEqual([DEFAULT_TEXTS.failed]);
  });

  it('says nothing more when the worker already told the person', async () => {
    const message = testMessage({ chatId: 42 });
    await outbox.put(message.id, {
      messageIds: [message.id],
      parts: channel.formatPlain(DEFAULT_TEXTS.failed),
      disposition: 'failed',
    });
    await outbox.markSent(message.id, 1);
    await processor.process([job(message)]);
    expect(channel.sent).toEqual([]);
    expect(parked).toHaveLength(1);
  });

  it('keeps a dead letter it could not park, to try again', async () => {
    parkFails = true;
    const record = job(testMessage({ chatId: 43 }));
    const response = await processor.process([record]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('parks a body that is not a job as it is, telling nobody', async () => {
    const record = deadLetter('not a job');
    expect((await processor.process([record])).batchItemFailures).toEqual([]);
    expect(parked).toEqual([record.messageId]);
    expect(channel.sent).toEqual([]);
    expect(marked).toEqual([]);
  });
});
