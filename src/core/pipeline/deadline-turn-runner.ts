import type { SDKMessage } from '@anthropic-ai/claude-agent-sdk';
import { DEFAULT_MAX_CONTINUATIONS } from '../../domain/continuation-limits.js';
import type { ConversationRef } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import type { JobSink } from '../../ports/job-queue.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { texts } from '../../texts/en.js';
import { continuationMessage, taskOf } from './continuation.js';
import { boundedBy } from './turn-questions.js';

/** How long before the deadline a turn stops at its next clean point, at most. */
const DEFAULT_CLEAN_POINT_MS = 60_000;

export interface DeadlineTurnRunnerOptions {
  /** Said when the deadline ends the task (no continuation left); default texts.deadlineReached. */
  message?: string | undefined;
  /**
   * Where continuations go: the job queue's sink. Without it (or with
   * `maxContinuations` 0) a turn cut at the deadline ends there and the
   * person is told (`message`).
   */
  continuations?: JobSink | undefined;
  /** Continuations one task may take (default DEFAULT_MAX_CONTINUATIONS). */
  maxContinuations?: number | undefined;
  /** From this long before the deadline, the turn stops at the next clean point (default 60 s). */
  cleanPointMs?: number | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/**
 * Winds a turn down before the Lambda running it would be killed, and lets
 * it go on in the next run.
 *
 * - From `cleanPointMs` before `deadlineAt` the turn is stopped at its next
 *   clean point: when a step's tool results are in (the SDK's top-level
 *   `user` message), before the model is asked for the next step, so the
 *   transcript ends on a finished step. At `deadlineAt` it is stopped
 *   whatever it is doing. Either way it is aborted like a `/stop`: the
 *   runtime keeps the session it wrote.
 * - A task with continuations left gets one queued on its lane (see
 *   continuation.ts) and the result says `continued`: the worker answers
 *   nothing but, on the task's first cut only, texts.stillWorking. The
 *   next run resumes the session with the instruction to continue, and the
 *   task's one answer comes from its last run.
 * - A task out of continuations (or one the queue would not take) ends as
 *   before: outcome `max_turns` (the core's "stopped at a limit, say so, do
 *   not retry") with texts.deadlineReached; its session is kept.
 */
export class DeadlineTurnRunner implements TurnRunner {
  constructor(
    private readonly inner: TurnRunner,
    private readonly deadlineAt: number,
    private readonly options: DeadlineTurnRunnerOptions = {},
  ) {}

  resetConversation(conversation: ConversationRef): Promise<void> {
    return this.inner.resetConversation(conversation);
  }

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    const now = this.options.now ?? Date.now;
    const logger = this.options.logger ?? silentLogger;
    const startedAt = now();
    const left = Math.max(0, this.deadlineAt - startedAt);
    // A short run still gets most of its time before it looks for a clean point.
    const window = Math.min(this.options.cleanPointMs ?? DEFAULT_CLEAN_POINT_MS, left / 4);
    // A question still unanswered when the clean-point window opens ends as
    // unanswered: the agent goes on without it, or the task is continued.
    const interaction =
      request.interaction && boundedBy(request.interaction, startedAt + left - window);
    const deadline = new AbortController();
    const stop = (reason: string) => {
      if (!deadline.signal.aborted) deadline.abort(new Error(reason));
    };
    let nearDeadline = false;
    const soon = setTimeout(() => {
      nearDeadline = true;
    }, left - window);
    const hard = setTimeout(() => stop('the Lambda deadline is near'), left);
    const signal = request.signal
      ? AbortSignal.any([request.signal, deadline.signal])
      : deadline.signal;
    const onMessage = (message: SDKMessage) => {
      request.onMessage?.(message);
      if (nearDeadline && isCleanPoint(message))
        stop('stopped at a clean point before the deadline');
    };
    let result: TurnResult;
    try {
      result = await this.inner.runTurn({ ...request, signal, onMessage, interaction });
    } finally {
      clearTimeout(soon);
      clearTimeout(hard);
    }
    const cutByDeadline = deadline.signal.aborted && !request.signal?.aborted;
    if (!cutByDeadline || result.outcome !== 'cancelled') return result;

    const messages = request.messages ?? [];
    const task = taskOf(messages, startedAt);
    const max = this.options.maxContinuations ?? DEFAULT_MAX_CONTINUATIONS;
    const log = {
      sessionId: result.sessionId,
      durationMs: result.durationMs,
      continuations: task?.continuations ?? 0,
      maxContinuations: max,
    };
    const sink = this.options.continuations;
    if (sink && task && task.continuations < max) {
      try {
        const next = continuationMessage(
          messages,
          task,
          texts.continueInstruction,
          now(),
          result.sessionId,
        );
        await sink.enqueue(next, 'turn');
        logger.info('turn cut at the deadline; it goes on in a continuation', {
          ...log,
          continuationId: next.id,
        });
        return {
          ...result,
          continued: true,
          errorMessage: task.continuations === 0 ? texts.stillWorking : undefined,
        };
      } catch (error) {
        logger.error('could not queue a continuation; the task ends here', {
          ...log,
          error: errorMessage(error),
        });
      }
    }
    logger.warn('turn stopped at the deadline; session kept', log);
    return {
      ...result,
      outcome: 'max_turns',
      errorMessage: this.options.message ?? texts.deadlineReached,
    };
  }
}

/**
 * A step has finished: the main agent's tool results are in and the model
 * has not been asked for the next step yet.
 */
function isCleanPoint(message: SDKMessage): boolean {
  return (
    message.type === 'user' &&
    message.parent_tool_use_id === null &&
    !('isReplay' in message && message.isReplay)
  );
}
