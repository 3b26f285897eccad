import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { ConversationIndex, ConversationRecord } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { BatchHandler, BatchInput, BatchResult } from './batch.js';

export interface StaleContinuationsOptions {
  conversations: ConversationIndex;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/**
 * Drops continuations that no longer continue anything before the worker sees
 * them. A continuation is queued behind whatever waits on the lane when its
 * run is cut, so a `/new` sent during a long task is handled first; run after
 * it, the bare instruction to continue would reach a fresh session that knows
 * nothing of the task. A continuation names the session it continues
 * (continuation.ts): one whose session is no longer the conversation's
 * current, unexpired one is completed without a turn or an answer, with a log
 * line. What the person sent with it still gets its turn.
 */
export class StaleContinuations implements BatchHandler {
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(
    private readonly inner: BatchHandler,
    private readonly options: StaleContinuationsOptions,
  ) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  async handle(input: BatchInput): Promise<BatchResult> {
    const [head] = input.messages;
    if (input.kind !== 'turn' || !head || !input.messages.some(isCheckedContinuation)) {
      return this.inner.handle(input);
    }
    const id = conversationId(head.conversation);
    const record = await this.options.conversations.get(id);
    const now = this.now();
    const stale = input.messages.filter((message) => isStale(message, record, now));
    if (stale.length === 0) return this.inner.handle(input);

    const dropped = stale.map((message) => message.id);
    this.logger.info('continuation dropped: its session was reset or expired since', {
      conversationId: id,
      continuations: dropped,
      sessionId: record?.sessionId ?? null,
    });
    const rest = input.messages.filter((message) => !dropped.includes(message.id));
    if (rest.length === 0) {
      return {
        type: 'settled',
        completed: dropped,
        deadLettered: [],
        released: [],
        outboxKey: head.id,
      };
    }
    const result = await this.inner.handle({ ...input, messages: rest });
    return result.type === 'settled'
      ? { ...result, completed: [...dropped, ...result.completed] }
      : result;
  }
}

/** A continuation that names its session (older ones do not, and run as before). */
function isCheckedContinuation(message: InboundMessage): boolean {
  return message.continuation?.sessionId !== undefined;
}

/**
 * Whether `message` continues a session that is gone: reset by `/new` (or
 * swept at expiry), replaced by a session started since, or expired, which
 * the next turn would start afresh.
 */
function isStale(message: InboundMessage, record: ConversationRecord | null, now: number): boolean {
  const sessionId = message.continuation?.sessionId;
  if (sessionId === undefined) return false;
  return record?.sessionId !== sessionId || record.expiresAt <= now;
}
