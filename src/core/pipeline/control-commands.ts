import { conversationId } from '../../domain/conversation.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import type { ConversationIndex } from '../../ports/conversation-index.js';
import type { Logger } from '../../ports/logger.js';
import type { TurnControl } from '../../ports/turn-control.js';
import type { Texts } from '../../texts/en.js';
import { STOP_FROM_DRAFT } from './answer-draft.js';
import type { Answer } from './batch.js';

export interface ControlCommandsOptions {
  conversations: ConversationIndex;
  turns: TurnControl;
  texts: Pick<Texts, 'help' | 'nothingToStop' | 'status' | 'unsupported'>;
  logger: Logger;
  now: () => number;
}

/**
 * The control lane's messages, answered without a turn and while one runs:
 * `/start`, `/help`, `/stop`, `/status`, refusals and what cannot be handled.
 */
export class ControlCommands {
  constructor(private readonly options: ControlCommandsOptions) {}

  async answer(message: InboundMessage): Promise<Answer | null> {
    const { texts, logger } = this.options;
    const { body } = message;
    const id = conversationId(message.conversation);
    switch (body.kind) {
      case 'refused':
        return { text: body.hint, format: 'plain' };
      case 'unsupported':
        return { text: texts.unsupported(body.what), format: 'plain' };
      case 'text':
      case 'media':
        logger.error('text message on the control lane; dropped', { conversationId: id });
        return null;
      case 'command':
        break;
    }
    switch (body.command) {
      case 'start':
      case 'help':
        return { text: texts.help, format: 'plain' };
      case 'stop': {
        // The stopped turn answers for itself ("Stopped."); one message is enough.
        const stopped = await this.options.turns.requestStop(id);
        if (stopped || body.args === STOP_FROM_DRAFT) return null;
        return { text: texts.nothingToStop, format: 'plain' };
      }
      case 'status':
        return { text: await this.status(id), format: 'plain' };
      case 'new':
        logger.error('/new on the control lane; dropped', { conversationId: id });
        return null;
    }
  }

  private async status(id: string): Promise<string> {
    const [record, since] = await Promise.all([
      this.options.conversations.get(id),
      this.options.turns.runningSince(id),
    ]);
    const now = this.options.now();
    return this.options.texts.status({
      session: record?.sessionId ? { id: record.sessionId, idleMs: now - record.updatedAt } : null,
      turns: record?.turns ?? 0,
      inputTokens: record?.inputTokens ?? 0,
      outputTokens: record?.outputTokens ?? 0,
      costUsd: record?.costUsd ?? 0,
      runningForMs: since === null ? null : now - since,
    });
  }
}
