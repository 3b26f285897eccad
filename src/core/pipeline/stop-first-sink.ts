import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnControl } from '../../ports/turn-control.js';

/**
 * `/stop` must reach a running turn now, not when the turn's worker is done.
 * This sink, in front of the queue, asks the running turn to stop directly
 * (a DynamoDB write the turn's worker polls for); the stopped turn then
 * answers "Stopped." itself. Only when no turn is running does the `/stop` go
 * on the conversation's control lane, where a worker answers it as the local
 * server does (a turn that began meanwhile is stopped then).
 *
 * The stop request counts as the message's durable hand-off: the ingress's
 * update dedupe commits after it, or forgets the update if it failed.
 */
export class StopFirstSink implements JobSink {
  constructor(
    private readonly inner: JobSink,
    private readonly turns: Pick<TurnControl, 'requestStop'>,
    private readonly logger: Logger = silentLogger,
  ) {}

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    const { body } = message;
    if (body.kind === 'command' && body.command === 'stop') {
      const id = conversationId(message.conversation);
      if (await this.turns.requestStop(id)) {
        this.logger.info('asked the running turn to stop', { conversationId: id });
        return 'enqueued';
      }
    }
    return this.inner.enqueue(message, kind);
  }
}
