import { GrammyError } from 'grammy';

/** "Message is not modified": the message already says this, so the edit is done. */
export function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && /message is not modified/i.test(error.description);
}

/** The message to edit is gone (the person deleted it, say). */
export function isEditTargetMissing(error: unknown): boolean {
  return error instanceof GrammyError && /message to edit not found/i.test(error.description);
}

/** Telegram refused the HTML markup; the same text can still go as plain text. */
export function isEntityError(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    /can't parse entities|can't find end|unsupported start tag|entity/i.test(error.description)
  );
}

/** A failure no retry mends: the chat cannot be written to any more. */
export function isPermanentFailure(error: unknown): boolean {
  if (!(error instanceof GrammyError)) return false;
  // Blocked by the user, kicked from the group, chat deleted.
  if (error.error_code === 403) return true;
  return (
    error.error_code === 400 &&
    /chat not found|thread not found|topic_closed|topic_deleted|not enough rights|have no rights|user is deactivated/i.test(
      error.description,
    )
  );
}
