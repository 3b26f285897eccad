import type { SessionStore } from '@anthropic-ai/claude-agent-sdk';
import { errorMessage } from '../../domain/errors.js';
import { TurnAbandoned, type TurnOutcome } from '../../domain/turn.js';
import {
  type ConversationIndex,
  type ConversationRecord,
  type TurnRecord,
  VersionConflictError,
} from '../../ports/conversation-index.js';
import type { Logger } from '../../ports/logger.js';

/** What a turn used, whatever became of it. */
export type TurnUsage = Omit<TurnRecord, 'sessionId' | 'projectKey' | 'lastGoodEntry'>;

/**
 * Whether a finished turn is kept: the next turn resumes after it. A failed
 * one is not, and neither is a turn abandoned by a shutdown: it runs again,
 * so like a failed attempt it must not move the resume point past the
 * person's message.
 */
export function isKept(outcome: TurnOutcome, abortReason: unknown): boolean {
  const abandoned = TurnAbandoned.isInstance(abortReason);
  return outcome !== 'error' && outcome !== 'model_unavailable' && !abandoned;
}

/** Writes a finished turn into the conversation index (see `record`). */
export class TurnRecorder {
  constructor(
    private readonly deps: {
      conversations: ConversationIndex;
      sessionStore: SessionStore;
      logger: Logger;
    },
  ) {}

  /**
   * Records a finished turn: `before` is the conversation's record when it
   * started, `session` what the turn's session wrote (its id, and from the
   * store its project key and last entry).
   */
  async record(turn: {
    id: string;
    before: ConversationRecord | null;
    kept: boolean;
    session: {
      sessionId: string | null;
      projectKey: string | undefined;
      lastChainEntry: string | undefined;
    };
    usage: TurnUsage;
  }): Promise<void> {
    const { id, before: record, usage } = turn;
    const { sessionId, projectKey, lastChainEntry } = turn.session;
    if (turn.kept) {
      // A settled turn (answered, stopped, cut at a limit) is kept, and the
      // next turn resumes at its last entry.
      if (sessionId && projectKey) {
        const sameSession = sessionId === record?.sessionId;
        await this.write(id, record, {
          sessionId,
          projectKey,
          lastGoodEntry:
            lastChainEntry ?? (sameSession ? record?.lastGoodEntry : undefined) ?? null,
          ...usage,
        });
      }
    } else if (record?.sessionId && record.projectKey) {
      // A failed turn is retried (or sent again by the person): its usage
      // counts, but the conversation stays where the last settled turn left
      // it, so the model sees the message once.
      await this.write(id, record, {
        sessionId: record.sessionId,
        projectKey: record.projectKey,
        lastGoodEntry: record.lastGoodEntry,
        ...usage,
      });
    } else if (sessionId && projectKey) {
      // The conversation's first turn failed: nothing of its session is worth
      // resuming, and the retry starts afresh. What it wrote goes.
      await this.deps.sessionStore.delete?.({ projectKey, sessionId })?.catch((error: unknown) =>
        this.deps.logger.warn('could not delete a failed first session', {
          conversationId: id,
          error: errorMessage(error),
        }),
      );
    }
  }

  private async write(
    id: string,
    before: ConversationRecord | null,
    turn: TurnRecord,
  ): Promise<void> {
    const { conversations, logger } = this.deps;
    try {
      await conversations.recordTurn(id, turn, before?.version ?? null);
    } catch (error) {
      if (!VersionConflictError.isInstance(error)) throw error;
      // Something else wrote meanwhile (a /new, say). The turn did happen, so
      // its usage counts; take the newer record as the base and write again.
      logger.warn('conversation changed during the turn; recording on the newer version', {
        conversationId: id,
      });
      const latest = await conversations.get(id);
      await conversations.recordTurn(id, turn, latest?.version ?? null);
    }
  }
}
