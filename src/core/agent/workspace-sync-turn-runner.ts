import { rm } from 'node:fs/promises';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { errorMessage } from '../../domain/errors.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import type { ConversationIndex } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import {
  DEFAULT_WORKSPACE_LIMITS,
  type WorkspaceLimits,
  type WorkspaceSaveReport,
  type WorkspaceStore,
} from '../../ports/workspace-store.js';
import { texts as defaultTexts, type Texts } from '../../texts/en.js';
import { isKept } from './turn-record.js';
import { workspacePath } from './workspace.js';

export interface WorkspaceSyncOptions {
  store: WorkspaceStore;
  /** Parent of the conversations' working directories (the runtime's `workspaceRoot`). */
  workspaceRoot: string;
  /**
   * When given, a conversation found expired before its turn loses its files
   * first, as it loses its session (the runtime starts that afresh).
   */
  conversations?: ConversationIndex | undefined;
  /** The limits the store applies, for telling the person what they are. */
  limits?: WorkspaceLimits | undefined;
  texts?: Texts | undefined;
  logger?: Logger | undefined;
  now?: (() => number) | undefined;
}

/**
 * Keeps a conversation's working directory across containers: before the
 * inner turn the store lays the saved files into the directory, after it the
 * store keeps what the turn changed, and a working copy is removed from the
 * container's disk (Lambda's /tmp is neither private to a conversation nor
 * large).
 *
 * Only a settled turn is saved (answered, stopped, cut at a limit), as only a
 * settled turn moves the session on: a failed, model-unavailable or abandoned
 * attempt is run again (or sent again) from the files as they were before
 * it, as it is from the transcript as it was.
 *
 * A save that fails, or keeps only part of the turn's files (limits), does
 * not fail the turn: the answer stands, and a notice (`TurnResult.notices`,
 * shown below the answer, "Stopped." or a limit's notice) says which files
 * were not kept.
 *
 * `/new` leaves the files alone: like a working folder, they outlast a
 * conversation's memory; only expiry removes them.
 */
export class WorkspaceSyncTurnRunner implements TurnRunner {
  private readonly texts: Texts;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly limits: WorkspaceLimits;

  constructor(
    private readonly inner: TurnRunner,
    private readonly options: WorkspaceSyncOptions,
  ) {
    this.texts = options.texts ?? defaultTexts;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.limits = options.limits ?? DEFAULT_WORKSPACE_LIMITS;
  }

  resetConversation(conversation: ConversationRef): Promise<void> {
    return this.inner.resetConversation(conversation);
  }

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    const { store } = this.options;
    const dir = workspacePath(this.options.workspaceRoot, request.conversation);
    const id = conversationId(request.conversation);
    await this.deleteIfExpired(request.conversation, id);
    const notices: string[] = [];
    try {
      const checkout = await store.checkout(request.conversation, dir);
      if (checkout.restored.missing.length > 0) {
        notices.push(this.texts.workspace.missing(checkout.restored.missing));
      }
      const result = await this.inner.runTurn(request);
      // Kept as the runtime keeps the session: only a turn that moved the conversation on.
      if (!isKept(result.outcome, request.signal?.reason)) return result;
      try {
        const report = await checkout.save();
        this.logSave(id, report);
        if (report.notKept.length > 0) {
          notices.push(
            this.texts.workspace.notKept(
              report.notKept,
              this.limits.maxFiles,
              Math.floor(this.limits.maxBytes / (1024 * 1024)),
            ),
          );
        }
      } catch (error) {
        this.logger.error('could not save the workspace', {
          conversationId: id,
          error: errorMessage(error),
        });
        notices.push(this.texts.workspace.notSaved);
      }
      return withNotices(result, notices);
    } finally {
      if (store.workingCopy) {
        await rm(dir, { recursive: true, force: true }).catch((error: unknown) =>
          this.logger.warn('could not remove the working copy of a workspace', {
            conversationId: id,
            error: errorMessage(error),
          }),
        );
      }
    }
  }

  private async deleteIfExpired(conversation: ConversationRef, id: string): Promise<void> {
    const record = await this.options.conversations?.get(id);
    if (!record || record.expiresAt > this.now()) return;
    this.logger.info('conversation expired; deleting its files', { conversationId: id });
    await this.options.store.delete(conversation);
  }

  private logSave(id: string, report: WorkspaceSaveReport): void {
    const fields = {
      conversationId: id,
      files: report.files,
      bytes: report.bytes,
      uploaded: report.uploaded,
      uploadedBytes: report.uploadedBytes,
      notKept: report.notKept.length,
      skipped: report.skipped.length,
    };
    if (report.notKept.length > 0) this.logger.warn('workspace over its limits', fields);
    else if (report.uploaded > 0) this.logger.info('workspace saved', fields);
    if (report.skipped.length > 0) {
      this.logger.info('links and special files in the workspace were not kept', {
        conversationId: id,
        skipped: report.skipped.length,
      });
    }
  }
}

/** The notices join the result's own; the worker shows them whatever the outcome. */
function withNotices(result: TurnResult, notices: string[]): TurnResult {
  if (notices.length === 0) return result;
  return { ...result, notices: [...(result.notices ?? []), ...notices] };
}
