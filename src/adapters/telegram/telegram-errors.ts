import { GrammyError } from 'grammy';
import {
  EDIT_TARGET_MISSING,
  ENTITY_REFUSED,
  isPermanent,
  NOT_MODIFIED,
} from './bot-api-failures.js';

/** "Message is not modified": the message already says this, so the edit is done. */
export function isNotModified(error: unknown): boolean {
  return error instanceof GrammyError && NOT_MODIFIED.test(error.description);
}

/** The message to edit is gone (the person deleted it, say). */
export function isEditTargetMissing(error: unknown): boolean {
  return error instanceof GrammyError && EDIT_TARGET_MISSING.test(error.description);
}

/** Telegram refused the HTML markup; the same text can still go as plain text. */
export function isEntityError(error: unknown): boolean {
  return (
    error instanceof GrammyError &&
    error.error_code === 400 &&
    ENTITY_REFUSED.test(error.description)
  );
}

/** A failure no retry mends: the chat cannot be written to any more. */
export function isPermanentFailure(error: unknown): boolean {
  return error instanceof GrammyError && isPermanent(error.error_code, error.description);
}
