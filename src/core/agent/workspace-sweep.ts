import { rm } from 'node:fs/promises';
import type { ConversationRef } from '../../domain/conversation.js';
import type { TurnRequest, TurnResult } from '../../domain/turn.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { TurnRunner } from '../../ports/turn-runner.js';
import { conversationDirs, workspacePath } from './workspace.js';

/**
 * Deletes every conversation's working directory under `root` except
 * `keep`'s. Returns how many it deleted.
 */
export async function removeOtherWorkspaces(root: string, keep: ConversationRef): Promise<number> {
  const kept = workspacePath(root, keep);
  let removed = 0;
  for (const dir of await conversationDirs(root)) {
    if (dir === kept) continue;
    await rm(dir, { recursive: true, force: true });
    removed++;
  }
  return removed;
}

/**
 * Where Claude Code cannot be sandboxed (Lambda: no user namespaces), what
 * keeps one conversation from reading another's files is that a container
 * holds only one: it serves one turn at a time, and this runner deletes the
 * other conversations' working directories before and after each turn.
 * Their files are not kept there anyway: the next turn of a conversation may
 * land on any container, so its files live in the workspace store
 * (WorkspaceSyncTurnRunner, inside this one, restores them before the turn
 * and removes its own copy after saving; this sweep catches what a crashed
 * invocation left).
 */
export class OneWorkspaceTurnRunner implements TurnRunner {
  constructor(
    private readonly inner: TurnRunner,
    private readonly workspaceRoot: string,
    private readonly logger: Logger = silentLogger,
  ) {}

  async runTurn(request: TurnRequest): Promise<TurnResult> {
    await this.sweep(request.conversation);
    try {
      return await this.inner.runTurn(request);
    } finally {
      await this.sweep(request.conversation);
    }
  }

  resetConversation(conversation: ConversationRef): Promise<void> {
    return this.inner.resetConversation(conversation);
  }

  private async sweep(keep: ConversationRef): Promise<void> {
    const removed = await removeOtherWorkspaces(this.workspaceRoot, keep);
    if (removed > 0) {
      this.logger.info("removed other conversations' working directories", { removed });
    }
  }
}
