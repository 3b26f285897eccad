import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEAD_LETTER_TIMEOUT_SECONDS } from './functions.js';

export interface QueueingProps {
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
}

/** Receives of a dead letter by its consumer before SQS parks it unannounced. */
const DEAD_LETTER_MAX_RECEIVE_COUNT = 5;

/**
 * The job queue: SQS FIFO, one message group per conversation, so turns of
 * a conversation run in order and different conversations in parallel.
 * Content-based deduplication is off: the ingress derives
 * MessageDeduplicationId from the Telegram update, which is stable across
 * Telegram's redeliveries while two different updates with the same text are
 * not duplicates.
 *
 * Behind it, two more FIFO queues (infra/README.md, Dead letters):
 *
 * - the dead-letter queue, where SQS moves a job whose receives ran out. Its
 *   consumer tells the person (once) if nobody did, marks the job
 *   dead-lettered and moves the message on. It cannot leave it there: an
 *   event source deletes what its function accepted.
 * - the parked queue, where dead letters rest for 14 days: the consumer
 *   copies each there, and SQS moves one there itself after the consumer
 *   failed on it DEAD_LETTER_MAX_RECEIVE_COUNT times. It is the dead-letter
 *   queue's own dead-letter queue, which is what makes it a valid source for
 *   a redrive (StartMessageMoveTask) into the job queue.
 */
export class Queueing extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly parkedQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueingProps) {
    super(scope, id);
    this.parkedQueue = new sqs.Queue(this, 'Parked', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps anything: time to look at what failed and redrive it.
      retentionPeriod: Duration.days(14),
    });
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      // Six times the consumer's timeout, as AWS advises for an SQS event source.
      visibilityTimeout: Duration.seconds(DEAD_LETTER_TIMEOUT_SECONDS * 6),
      deadLetterQueue: {
        queue: this.parkedQueue,
        maxReceiveCount: DEAD_LETTER_MAX_RECEIVE_COUNT,
      },
    });
    this.queue = new sqs.Queue(this, 'Jobs', {
      fifo: true,
      contentBasedDeduplication: false,
      // High-throughput FIFO: deduplication and throughput limits per message
      // group (conversation) rather than per queue; no extra cost.
      deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
  }
}
