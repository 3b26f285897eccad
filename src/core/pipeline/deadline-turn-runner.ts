import type { ConversationRef } from '../../domain/conversation.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { texts } from '../../texts/en.js';

/**
 * Stops a turn before the Lambda running it would be killed. At `deadlineAt`
 * the turn is aborted like a `/stop`; the runtime keeps the session it wrote
 * (the transcript is in the session store after every flush), and the person
 * is told why the answer ended there.
 *
 * The core's outcome for "stopped at a limit, say so with `errorMessage`, do
 * not retry" is `max_turns` (as for the step and budget limits), so a turn
 * cut by the deadline is reported that way, with its own message. Retrying
 * it would only run into the same deadline again.
 */
export class DeadlineTurnRunner implements TurnRunner {
  constructor(
    private readonly inner: TurnRunner,
    private readonly deadlineAt: number,
    private readonly options: {
      message?: string | undefined;
      logger?: Logger | undefined;
      now?: (() => number) | undefined;
    } = {},
  ) {}

  resetConversation(conversation: ConversationRef): Promise<void> {
    return this.inner.resetConversation(conversation);
  }

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    const now = this.options.now ?? Date.now;
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new Error('the Lambda deadline is near')),
      Math.max(0, this.deadlineAt - now()),
    );
    const signal = request.signal
      ? AbortSignal.any([request.signal, deadline.signal])
      : deadline.signal;
    try {
      const result = await this.inner.runTurn({ ...request, signal });
      const cutByDeadline = deadline.signal.aborted && !request.signal?.aborted;
      if (!cutByDeadline || result.outcome !== 'cancelled') return result;
      (this.options.logger ?? silentLogger).warn('turn stopped at the deadline; session kept', {
        sessionId: result.sessionId,
        durationMs: result.durationMs,
      });
      return {
        ...result,
        outcome: 'max_turns',
        errorMessage: this.options.message ?? texts.deadlineReached,
      };
    } finally {
      clearTimeout(timer);
    }
  }
}
