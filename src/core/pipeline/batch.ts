import { AgentError } from '../../domain/errors.js';
import type { InboundMessage, LaneKind } from '../../domain/inbound-message.js';
import type { StagedFile } from '../../domain/outgoing-file.js';

export interface BatchInput {
  kind: LaneKind;
  /** Oldest first, never empty; all of one conversation. */
  messages: InboundMessage[];
  /** 1 on the first try. */
  attempt: number;
  /** Aborted when the process shuts down: a running turn is abandoned and its messages put back. */
  shutdown?: AbortSignal | undefined;
}

/** What the queue should do with the batch's messages. */
export type BatchResult =
  | {
      type: 'settled';
      /** Answered (or needing no answer): remove. */
      completed: string[];
      /** Given up (the sender was told, if they could be reached): dead letters. */
      deadLettered: string[];
      /** Claimed but not covered by this answer: back to the queue, untouched. */
      released: string[];
      /** Reply outbox key to clean up once the queue has recorded the outcome. */
      outboxKey: string;
      error?: string | undefined;
    }
  /** Try the whole batch again later. */
  | { type: 'retry'; error: string }
  /** Not handled at all (shutdown): put back without counting the attempt. */
  | { type: 'released' };

/** What handles a batch of a conversation's messages: the ConversationWorker, or a decorator of it. */
export interface BatchHandler {
  handle(input: BatchInput): Promise<BatchResult>;
}

/** A turn the runtime reported as failed; worth another try. */
export class TurnFailedError extends AgentError {
  static override readonly errorName = 'TurnFailedError';
  constructor(
    message: string,
    /** What the runtime suggests telling the person, if it gives up. */
    readonly userMessage?: string | undefined,
  ) {
    super(message);
  }
}

/** What a batch is answered with, before the channel formats it into parts. */
export interface Answer {
  text: string;
  format: 'markdown' | 'plain';
  /** Files the agent sent, delivered after the text (staged; see domain/outgoing-file.ts). */
  files?: StagedFile[] | undefined;
}
