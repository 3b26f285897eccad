import type { Update } from 'grammy/types';

/**
 * The update types the bot handles (normalize-update.ts, stopped-generation.ts,
 * the question buttons), asked for by name wherever updates are requested:
 * long polling's `getUpdates` and every `setWebhook`. Telegram otherwise
 * keeps the list it was last given (by a webhook registered earlier, say) or
 * its own default, and either may leave out button presses or the draft's
 * stop button.
 */
export const ALLOWED_UPDATES = [
  'message',
  'edited_message',
  // A question's or an approval's buttons (button-press-intake.ts).
  'callback_query',
  // The stop button of an answer's draft (stopped-generation.ts).
  'stopped_message_generation',
] as const satisfies ReadonlyArray<Exclude<keyof Update, 'update_id'>>;
