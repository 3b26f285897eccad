import type { SessionStore } from '@anthropic-ai/claude-agent-sdk';
import { parseConversationId } from '../../domain/conversation.js';
import type { ConversationIndex } from '../../ports/conversation-index.js';
import { type Logger, silentLogger } from '../../ports/logger.js';
import type { WorkspaceStore } from '../../ports/workspace-store.js';

/**
 * Removes the transcripts of conversations idle past their expiry. A turn
 * already starts afresh when it finds its conversation expired; the sweep is
 * for conversations that never come back, so their transcripts do not stay
 * forever. (On AWS, DynamoDB TTL and S3 lifecycle rules do this job.)
 *
 * Transcript and files first, then the index: if the sweep dies between the
 * two, the record still points at the session and the next sweep deletes
 * them again.
 */
export async function sweepExpiredConversations(options: {
  conversations: ConversationIndex;
  sessionStore: SessionStore;
  /** The conversations' files go with their transcripts. */
  workspaces?: Pick<WorkspaceStore, 'delete'> | undefined;
  now: number;
  batchSize?: number;
  logger?: Logger;
}): Promise<number> {
  const logger = options.logger ?? silentLogger;
  const batchSize = options.batchSize ?? 100;
  let swept = 0;
  for (;;) {
    const expired = await options.conversations.listExpired(options.now, batchSize);
    for (const record of expired) {
      if (record.sessionId && record.projectKey) {
        await options.sessionStore.delete?.({
          projectKey: record.projectKey,
          sessionId: record.sessionId,
        });
      }
      const conversation = parseConversationId(record.conversationId);
      if (conversation) await options.workspaces?.delete(conversation);
      await options.conversations.resetSession(record.conversationId);
      swept += 1;
    }
    if (expired.length < batchSize) break;
  }
  if (swept > 0) logger.info('swept expired conversations', { count: swept });
  return swept;
}
