import type { ConversationRef } from '../domain/conversation.js';
import type { TurnRequest, TurnResult } from '../domain/turn.js';

/** What a worker needs from the runtime; the Telegram and Lambda workers code against this. */
export interface TurnRunner {
  runTurn(request: TurnRequest): Promise<TurnResult>;
  /** Start a fresh session on the next turn (`/new`). */
  resetConversation(conversation: ConversationRef): Promise<void>;
}
