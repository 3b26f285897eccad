import { mkdir, readdir } from 'node:fs/promises';
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

/**
 * Every conversation's directory under `root`, as `workspacePath` lays them
 * out (`<root>/<tenant>/<conversation>`); none for a root that is not there.
 */
export async function conversationDirs(root: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const tenant of await entries(root)) {
    for (const slug of await entries(join(root, tenant))) dirs.push(join(root, tenant, slug));
  }
  return dirs;
}

/** The names in `dir`; none when it cannot be read. */
export async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}
