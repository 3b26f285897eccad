import { mkdir, rm } from 'node:fs/promises';
import { workspacePath } from '../../core/agent/workspace.js';
import type { ConversationRef } from '../../domain/conversation.js';
import type {
  WorkspaceCheckout,
  WorkspaceSaveReport,
  WorkspaceStore,
} from '../../ports/workspace-store.js';

const NOTHING_MOVED: WorkspaceSaveReport = {
  files: 0,
  bytes: 0,
  uploaded: 0,
  uploadedBytes: 0,
  notKept: [],
  skipped: [],
};

/**
 * The local deployment's workspace store: the working directory under the
 * data directory is already where the files are kept, on a disk that
 * outlives the process, so a checkout only makes sure it exists and a save
 * has nothing to copy. Unbounded (the operator's own disk); `delete` removes
 * the directory when the conversation expires.
 */
export class LocalWorkspaceStore implements WorkspaceStore {
  readonly workingCopy = false;

  /** @param root The runtime's `workspaceRoot` (`DATA_DIR/workspaces`). */
  constructor(private readonly root: string) {}

  async checkout(_conversation: ConversationRef, dir: string): Promise<WorkspaceCheckout> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return {
      restored: { files: 0, bytes: 0, missing: [] },
      save: async () => ({ ...NOTHING_MOVED }),
    };
  }

  async delete(conversation: ConversationRef): Promise<void> {
    await rm(workspacePath(this.root, conversation), { recursive: true, force: true });
  }
}
