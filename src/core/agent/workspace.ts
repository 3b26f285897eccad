import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConversationRef, conversationSlug } from '../../domain/conversation.js';

/**
 * Each conversation works in its own directory, so one conversation's files
 * are never in another's working tree. The path is derived, not stored: any
 * container computes the same one, which matters because the SDK keys
 * transcripts by working directory (its project key).
 */
export function workspacePath(root: string, conversation: ConversationRef): string {
  return join(root, encodeURIComponent(conversation.tenant), conversationSlug(conversation));
}

export async function ensureWorkspace(
  root: string,
  conversation: ConversationRef,
): Promise<string> {
  const path = workspacePath(root, conversation);
  await mkdir(path, { recursive: true, mode: 0o700 });
  return path;
}
