import type { Api, GrammyError } from 'grammy';
import type { ConversationRef } from '../../domain/conversation.js';
import type { AnswerDraftContent, DraftOutcome } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import { type GrammySignal, grammySignal } from './bot-api-client.js';
import { isMethodMissing, isRichContentRejected, retryAfterMs } from './rich-messages.js';
import { threadOf } from './send-parameters.js';

/**
 * In private chats the answer is previewed as a draft while it is written, a
 * rich draft where rich messages work. Like rich messages, a Bot API without
 * drafts is remembered in memory (one process talks to one Bot API server).
 */
export class AnswerDrafts {
  /** Drafts work here (sendMessageDraft), and rich drafts (sendRichMessageDraft). */
  private drafts: boolean;
  private richDrafts: boolean;

  constructor(
    private readonly api: Api,
    private readonly options: {
      logger: Logger;
      signal: GrammySignal;
      drafts: boolean;
      richDrafts: boolean;
    },
  ) {
    this.drafts = options.drafts;
    this.richDrafts = options.richDrafts;
  }

  /**
   * A draft in a private chat, with a stop button (its press arrives as a
   * `stopped_message_generation` update, which the intake turns into /stop).
   * Rich where rich drafts work, else plain text. Flood control comes back as
   * a wait, not an error: the caller sends its next draft later.
   */
  async send(
    conversation: ConversationRef,
    draftId: number,
    content: AnswerDraftContent,
    signal?: AbortSignal | undefined,
  ): Promise<DraftOutcome> {
    const chatId = Number(conversation.chatId);
    // Drafts exist in private chats only, whose ids are the users' (positive).
    if (!this.drafts || !(chatId > 0)) return 'unavailable';
    const other = { ...threadOf(conversation), can_stop: true };
    const abort = grammySignal(anySignal(signal, this.options.signal as unknown as AbortSignal));
    try {
      if (this.richDrafts && content.markdown) {
        try {
          await this.api.sendRichMessageDraft(
            chatId,
            draftId,
            { markdown: content.markdown },
            other,
            abort,
          );
          return 'shown';
        } catch (error) {
          if (isMethodMissing(error)) this.richDrafts = false;
          else if (!isRichContentRejected(error)) throw error;
        }
      }
      await this.api.sendMessageDraft(chatId, draftId, content.plain, other, abort);
      return 'shown';
    } catch (error) {
      const wait = retryAfterMs(error);
      if (wait !== undefined) return { retryAfterMs: wait };
      if (isMethodMissing(error)) {
        this.options.logger.warn('the Bot API has no message drafts; answers are not previewed', {
          error: (error as GrammyError).description,
        });
        this.drafts = false;
        return 'unavailable';
      }
      throw error;
    }
  }
}

/** Aborted when either signal is (AbortSignal.any, present on Node 20 and 22). */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  return present.length > 1 ? AbortSignal.any(present) : present[0];
}
