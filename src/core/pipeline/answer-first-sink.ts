import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { EnqueueResult, JobSink } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { QuestionAnswers } from '../../ports/question-store.js';

/**
 * While a turn waits for the person's answer to a question, their next text
 * message in that conversation is the answer, not a new request: it could
 * never be one anyway, since the turn lane waits behind the running turn.
 * This sink, in front of the queue, records the text as the answer (the
 * waiting worker sees it) and queues nothing; any other message, or a text
 * with no question open, goes on as usual.
 *
 * Like StopFirstSink, recording the answer is the message's durable hand-off:
 * the ingress's update dedupe commits after it, so a redelivery is a duplicate.
 */
export class AnswerFirstSink implements JobSink {
  constructor(
    private readonly inner: JobSink,
    private readonly answers: Pick<QuestionAnswers, 'answerText'>,
    private readonly logger: Logger = silentLogger,
  ) {}

  async enqueue(message: InboundMessage, kind: LaneKind): Promise<EnqueueResult> {
    const { body } = message;
    // A continuation is the worker's own message, never the person's answer.
    if (body.kind === 'text' && message.continuation === undefined) {
      const id = conversationId(message.conversation);
      if (await this.answers.answerText(id, body.text, message.id)) {
        this.logger.info('a text message answered the open question', { conversationId: id });
        return 'enqueued';
      }
    }
    return this.inner.enqueue(message, kind);
  }
}
