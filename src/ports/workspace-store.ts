import type { ConversationRef } from '../domain/conversation.js';
import { AgentError } from '../domain/errors.js';

/**
 * Where a conversation's working directory is kept between turns. The agent
 * works in a plain local directory; the store lays the saved files into it
 * before a turn (`checkout`) and keeps what the turn changed after it
 * (`save`). Locally the directory is the store (nothing to copy); on AWS the
 * directory is a copy in the container's /tmp and the store is S3.
 */
export interface WorkspaceStore {
  /**
   * Make `dir` hold the conversation's saved files (and nothing else, for a
   * store that copies) and return the checkout that saves the turn's changes.
   */
  checkout(conversation: ConversationRef, dir: string): Promise<WorkspaceCheckout>;
  /** Delete everything kept for the conversation (it expired). Deleting nothing is fine. */
  delete(conversation: ConversationRef): Promise<void>;
  /**
   * True when `dir` is only a working copy, so the caller removes it after
   * saving; false when `dir` is itself where the files are kept.
   */
  readonly workingCopy: boolean;
}

export interface WorkspaceCheckout {
  /** What was laid into the directory. */
  readonly restored: WorkspaceRestoreReport;
  /**
   * Keep the directory's current state as the conversation's workspace: the
   * delta against what was restored. Call once, by the conversation's single
   * writer; either the whole new state (within the limits) is kept or,
   * on an error, the previous one stays.
   */
  save(): Promise<WorkspaceSaveReport>;
}

export interface WorkspaceRestoreReport {
  files: number;
  bytes: number;
  /** Saved files whose content could not be found (they are dropped from the workspace). */
  missing: string[];
}

export interface WorkspaceSaveReport {
  /** Files and bytes the workspace holds after the save. */
  files: number;
  bytes: number;
  /** Objects (file contents) uploaded by this save and their bytes; the manifest not counted. */
  uploaded: number;
  uploadedBytes: number;
  /** Paths changed by the turn that were not kept because they would have passed a limit. */
  notKept: string[];
  /** Symbolic links and other entries that are not regular files: never read, never kept. */
  skipped: string[];
}

/** Per-conversation bounds on what a store keeps. */
export interface WorkspaceLimits {
  maxFiles: number;
  maxBytes: number;
}

export const DEFAULT_WORKSPACE_LIMITS: WorkspaceLimits = {
  maxFiles: 5000,
  maxBytes: 256 * 1024 * 1024,
};

/** A save that could not be completed; the previous saved state is still the workspace. */
export class WorkspaceStoreError extends AgentError {
  static override readonly errorName: string = 'WorkspaceStoreError';
}

/** Someone else saved the conversation's workspace since it was restored: nothing was kept. */
export class WorkspaceConflictError extends WorkspaceStoreError {
  static override readonly errorName: string = 'WorkspaceConflictError';
}
