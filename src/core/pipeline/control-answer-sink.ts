import { conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { BatchHandler, BatchResult } from './batch.js';

/**
 * Control messages (`/status`, `/help`, refusals, unsupported kinds, a
 * `/stop` with nothing running) need no agent: answered where they come in,
 * they stay fast when every worker is busy, and on AWS they start no agent
 * container. This sink, in front of the queue, answers a control-lane message
 * at once with a ConversationWorker of its own (no turn runner; the reply
 * outbox and the channel's placeholder-and-edit delivery keep the answer
 * exactly-once across the sender's retries). Turn-lane messages pass through.
 *
 * If the answer cannot be delivered now (Telegram slow or failing), the
 * message goes on the control lane after all, and a worker finishes it with
 * its retries, backoff and failure notice, from what the outbox holds: the
 * same key, so still one answer.
 */
export class ControlAnswerSink implements JobSink {
  constructor(
    private readonly inner: JobSink,
    private readonly worker: BatchHandler,
    private readonly logger: Logger = silentLogger,
  ) {}

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    if (kind !== 'control') return this.inner.enqueue(message, kind);
    const log = { messageId: message.id, conversationId: conversationId(message.conversation) };
    let result: BatchResult;
    try {
      result = await this.worker.handle({ kind, messages: [message], attempt: 1 });
    } catch (error) {
      result = { type: 'retry', error: errorMessage(error) };
    }
    if (result.type === 'settled') {
      if (result.deadLettered.length > 0) {
        // Nobody to tell (the bot was blocked, the chat is gone).
        this.logger.warn('could not answer a control message; dropped', {
          ...log,
          error: result.error,
        });
      } else {
        this.logger.info('control message answered at ingress', log);
      }
      return 'enqueued';
    }
    this.logger.warn('could not answer a control message now; a worker will', {
      ...log,
      error: result.type === 'retry' ? result.error : 'released',
    });
    return this.inner.enqueue(message, kind);
  }
}
