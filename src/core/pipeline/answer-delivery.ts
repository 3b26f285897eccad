import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { InboundMessage } from '../../domain/inbound-message.js';
import { asOutgoingFile } from '../../domain/outgoing-file.js';
import { type Channel, deliversByEditing, type OutgoingPart } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import type { OutboxEntry, ReplyOutbox } from '../../ports/reply-outbox.js';
import type { Texts } from '../../texts/en.js';
import type { BatchInput, BatchResult } from './batch.js';
import { replaceWithFallback } from './part-fallback.js';
import { discardStagedFiles } from './staged-files.js';

export interface AnswerDeliveryOptions {
  channel: Channel;
  outbox: ReplyOutbox;
  /** Attempts before a part that keeps failing is given up. */
  maxAttempts: number;
  texts: Pick<Texts, 'fileNotDelivered'>;
  logger: Logger;
}

/**
 * Sends an outbox entry's parts, ticking each off in the outbox, and settles
 * the batch the entry answers.
 *
 * Shown exactly once, by construction, on channels that deliver by editing
 * (Telegram): each part first gets a placeholder message, whose id is
 * recorded in the outbox, and is then edited into it. A part delivered again
 * (its tick lost in a crash, whatever the send's outcome) is edited into the
 * same message once more, which changes nothing; only a part with no recorded
 * message is ever sent. The one window left is a crash between the channel
 * creating a placeholder and the outbox recording its id: that leaves a stray
 * placeholder ("…"), never a second copy of the part, since the Bot API can
 * neither send idempotently nor list a chat's messages to find it again.
 */
export class AnswerDelivery {
  constructor(private readonly options: AnswerDeliveryOptions) {}

  /** Send the parts not yet sent, ticking each off; then settle the batch. */
  async deliver(
    key: string,
    entry: OutboxEntry,
    input: Pick<BatchInput, 'messages' | 'attempt'>,
  ): Promise<BatchResult> {
    const { channel, outbox, logger } = this.options;
    const head = input.messages[0] as InboundMessage;
    const covered = new Set(entry.messageIds);
    const released = input.messages.filter((message) => !covered.has(message.id)).map((m) => m.id);
    for (let index = entry.sent; index < entry.parts.length; index++) {
      try {
        await this.deliverPart(key, entry, index, head.conversation);
      } catch (error) {
        const message = errorMessage(error);
        const permanent = channel.isPermanentFailure(error);
        logger.warn('delivering an answer failed', {
          conversationId: conversationId(head.conversation),
          part: index,
          permanent,
          error: message,
        });
        if (!permanent && input.attempt < this.options.maxAttempts)
          return { type: 'retry', error: message };
        await discardStagedFiles(entry.parts, logger);
        // Nobody to tell: the chat cannot be reached.
        return {
          type: 'settled',
          completed: [],
          deadLettered: entry.messageIds,
          released,
          outboxKey: key,
          error: `delivery failed: ${message}`,
        };
      }
      await outbox.markSent(key, index + 1);
    }
    // Settled: nothing will send the staged files again.
    await discardStagedFiles(entry.parts, logger);
    return entry.disposition === 'answered'
      ? { type: 'settled', completed: entry.messageIds, deadLettered: [], released, outboxKey: key }
      : {
          type: 'settled',
          completed: [],
          deadLettered: entry.messageIds,
          released,
          outboxKey: key,
          error: 'attempts exhausted',
        };
  }

  /**
   * One part: sent, or on a channel that delivers by editing, edited into
   * the message recorded for it, which is first sent as a placeholder and
   * recorded if there is none yet (see the class comment for why).
   */
  private async deliverPart(
    key: string,
    entry: OutboxEntry,
    index: number,
    conversation: ConversationRef,
    fellBack = false,
  ): Promise<void> {
    const { channel, outbox } = this.options;
    const part = entry.parts[index] as OutgoingPart;
    // The channel cannot show the part as it is (Telegram without rich
    // messages): its fallback parts take its place, the first in its message.
    const fallBack = async () => {
      if (fellBack) throw new Error('the fallback of an answer part could not be shown either');
      await replaceWithFallback(channel, outbox, key, entry, index);
      await this.deliverPart(key, entry, index, conversation, true);
    };
    const replyTo = index === 0 ? entry.replyTo : undefined;
    const file = asOutgoingFile(part);
    if (file) {
      // No placeholder: a message cannot be edited into a file. A crash between
      // the upload and its tick sends the file twice, the one window left.
      if (channel.sendFile) {
        await channel.sendFile(conversation, part, { replyTo });
        return;
      }
      for (const notice of channel.formatPlain(this.options.texts.fileNotDelivered(file.name)))
        await channel.send(conversation, notice, { replyTo });
      return;
    }
    if (!deliversByEditing(channel)) {
      await channel.send(conversation, part, { replyTo });
      return;
    }
    const recorded = entry.partMessages[index];
    if (recorded !== undefined) {
      const outcome = await channel.editPart(conversation, recorded, part);
      if (outcome === 'edited') return;
      if (outcome === 'fallback') return fallBack();
      this.options.logger.warn('the message an answer part goes into is gone; sending it again', {
        conversationId: conversationId(conversation),
        part: index,
      });
    }
    const messageId = await channel.sendPlaceholder(conversation, { replyTo, part });
    await outbox.recordPartMessage(key, index, messageId);
    entry.partMessages[index] = messageId;
    const outcome = await channel.editPart(conversation, messageId, part);
    if (outcome === 'fallback') return fallBack();
    if (outcome === 'missing') {
      throw new Error('the placeholder was deleted before the answer was written into it');
    }
  }
}
