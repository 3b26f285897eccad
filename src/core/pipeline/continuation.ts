import type { InboundMessage } from '../../domain/inbound-message.js';

/**
 * A long task on AWS spans several runs: a turn cut at the worker Lambda's
 * deadline goes on in a continuation, a message queued on the conversation's
 * turn lane whose text is the instruction to continue (texts.continueInstruction)
 * and whose `continuation` field says which task it continues and how many
 * runs came before. The next run resumes the session with it like any
 * message (so it combines with what the person sent meanwhile), and the
 * runner that cut the run decides whether another continuation is allowed.
 */

/** The task a batch of messages belongs to. */
export interface TaskRun {
  /** The id of the message that started the task. */
  of: string;
  /** Continuations run so far (0: this is the task's first run). */
  continuations: number;
  /** When the task's first run began (epoch ms). */
  startedAt: number;
}

/** The task a turn answering `messages` runs for: a continuation's, or a new one. */
export function taskOf(messages: readonly InboundMessage[], now: number): TaskRun | undefined {
  let task: TaskRun | undefined;
  for (const message of messages) {
    const c = message.continuation;
    // Only one continuation is ever queued per conversation; a duplicate (a
    // crash between its enqueue and the cut run's end) counts once.
    if (c && (!task || c.n > task.continuations)) {
      task = { of: c.of, continuations: c.n, startedAt: c.startedAt };
    }
  }
  if (task) return task;
  const head = messages[0];
  return head ? { of: head.id, continuations: 0, startedAt: now } : undefined;
}

/**
 * The continuation of `task` after the run answering `messages`: the same
 * conversation and sender, replying where the batch's answer would (so the
 * final answer is a reply to the request in a group), with a stable id per
 * task and run so that a repeated enqueue is dropped as a duplicate.
 */
export function continuationMessage(
  messages: readonly InboundMessage[],
  task: TaskRun,
  instruction: string,
  now: number,
  /** The session the cut run kept: the continuation belongs to it alone. */
  sessionId?: string | null,
): InboundMessage {
  const last = messages[messages.length - 1] as InboundMessage;
  const n = task.continuations + 1;
  return {
    id: `${task.of}#continue-${n}`,
    conversation: last.conversation,
    chatType: last.chatType,
    ...(last.messageId !== undefined ? { messageId: last.messageId } : {}),
    sender: last.sender,
    receivedAt: now,
    body: { kind: 'text', text: instruction },
    continuation: {
      of: task.of,
      n,
      startedAt: task.startedAt,
      ...(sessionId ? { sessionId } : {}),
    },
  };
}
