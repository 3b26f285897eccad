import { conversationId } from '../../domain/conversation.js';
import { AgentError } from '../../domain/errors.js';
import { type InboundMessage, type LaneKind, laneOf } from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { UpdateDedupe } from '../../ports/update-dedupe.js';

export interface IngressOptions {
  queue: JobSink;
  /**
   * For queues that do not deduplicate on enqueue (SQS FIFO beyond five
   * minutes). Not needed with the local SQLite queue.
   */
  dedupe?: UpdateDedupe | undefined;
  /** Called after a message was stored (the local pool wakes up). */
  onEnqueued?: ((kind: LaneKind) => void) | undefined;
  logger?: Logger | undefined;
}

/**
 * Another hand-off of the same id is in flight, or one failed and its claim
 * could not be dropped: the sender must retry later (the ingress answers 503),
 * neither queued twice nor acknowledged as a duplicate and lost.
 */
export class UpdatePendingError extends AgentError {
  static override readonly errorName = 'UpdatePendingError';
}

/**
 * The channel-independent end of ingress: put a normalised message on its
 * conversation's lane, once. It never waits for the agent; once this resolves
 * the update may be acknowledged, because the message is durably queued.
 */
export class Ingress {
  private readonly logger: Logger;

  constructor(private readonly options: IngressOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  async accept(message: InboundMessage): Promise<EnqueueResult> {
    const kind = laneOf(message);
    const result = await this.enqueueOnce(message, kind);
    if (result === 'duplicate') {
      this.logger.info('duplicate message dropped', { messageId: message.id });
      return result;
    }
    this.logger.debug('message queued', {
      messageId: message.id,
      conversationId: conversationId(message.conversation),
      lane: kind,
      body: message.body.kind,
    });
    this.options.onEnqueued?.(kind);
    return result;
  }

  private async enqueueOnce(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    const { dedupe, queue } = this.options;
    if (!dedupe) return queue.enqueue(message, kind);
    const claim = await dedupe.claim(message.id);
    if (claim === 'duplicate') return 'duplicate';
    if (claim === 'pending') {
      throw new UpdatePendingError(`message ${message.id} is being queued by another delivery`);
    }
    let result: EnqueueResult;
    try {
      result = await queue.enqueue(message, kind);
    } catch (error) {
      // Let the sender's retry through rather than lose the message.
      await dedupe.forget(message.id).catch((forgetError: unknown) => {
        this.logger.warn('could not release a dedupe claim', { error: String(forgetError) });
      });
      throw error;
    }
    await dedupe.commit(message.id);
    return result;
  }
}
