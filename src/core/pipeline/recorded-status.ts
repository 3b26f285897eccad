import type { ConversationRef } from '../../domain/conversation.js';
import { type Channel, hasStatusMessages, type StatusChannel } from '../../ports/channel.js';
import type { Logger } from '../../ports/logger.js';
import type { ReplyOutbox } from '../../ports/reply-outbox.js';
import type { Texts } from '../../texts/en.js';
import { DEFAULT_PROGRESS, ProgressMessage, type ProgressSettings } from './progress-message.js';

export interface RecordedStatusOptions {
  channel: Channel;
  outbox: ReplyOutbox;
  /** Undefined when the status message is turned off. */
  progress: ProgressSettings | undefined;
  texts: Pick<Texts, 'working' | 'workingDone'>;
  logger: Logger;
}

/**
 * The turn's status message, if the channel can show one and it is not
 * turned off. Its id goes into the outbox as soon as it is sent (and out
 * when it is gone), so an attempt after a crash takes over the one an
 * earlier attempt left showing rather than adding another.
 */
export async function recordedStatusMessage(
  key: string,
  conversation: ConversationRef,
  options: RecordedStatusOptions,
): Promise<ProgressMessage | undefined> {
  const { channel, outbox, progress } = options;
  if (!progress || !hasStatusMessages(channel)) return undefined;
  const existingId = (await outbox.statusMessage(key)) ?? undefined;
  return recorded(key, conversation, { ...options, channel }, progress, existingId);
}

/**
 * Deletes a status message an earlier attempt recorded and never removed
 * (a redelivered answer, a batch given up), so "Working on it…" does not
 * stay in the chat. Never throws for the channel.
 */
export async function removeLeftoverStatus(
  key: string,
  conversation: ConversationRef,
  options: RecordedStatusOptions,
): Promise<void> {
  const { channel, outbox, progress } = options;
  if (!hasStatusMessages(channel)) return;
  const id = await outbox.statusMessage(key);
  if (id === null) return;
  const settings = { ...DEFAULT_PROGRESS, ...progress };
  await recorded(key, conversation, { ...options, channel }, settings, id).finish();
}

/** A status message whose id the outbox holds under `key` while it is in the chat. */
function recorded(
  key: string,
  conversation: ConversationRef,
  options: RecordedStatusOptions & { channel: StatusChannel },
  settings: ProgressSettings,
  existingId: string | undefined,
): ProgressMessage {
  const { channel, outbox, texts, logger } = options;
  return new ProgressMessage({
    channel,
    conversation,
    settings,
    heading: texts.working,
    done: texts.workingDone,
    logger,
    existingId,
    onShown: (id) => outbox.recordStatusMessage(key, id),
    onRemoved: () => outbox.recordStatusMessage(key, null),
  });
}
