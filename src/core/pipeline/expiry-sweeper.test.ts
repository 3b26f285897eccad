import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../adapters/sqlite/database.js';
import { SqliteConversationIndex } from '../../adapters/sqlite/sqlite-conversation-index.js';
import { SqliteSessionStore } from '../../adapters/sqlite/sqlite-session-store.js';
import { type ConversationRef, conversationId } from '../../domain/conversation.js';
import { sweepExpiredConversations } from './expiry-sweeper.js';

const DAY = 86_400_000;
let database: SqliteDatabase;
let conversations: SqliteConversationIndex;
let sessionStore: SqliteSessionStore;

beforeEach(() => {
  database = openDatabase(':memory:');
  conversations = new SqliteConversationIndex(database);
  sessionStore = new SqliteSessionStore(database);
});

afterEach(() => {
  database.close();
});

async function conversationWithTranscript(id: string, sessionId: string, at: number) {
  const key = { projectKey: `project-${id}`, sessionId };
  await sessionStore.append(key, [
    { type: 'user', uuid: `${sessionId}-1`, message: { content: 'hi' } },
  ]);
  await sessionStore.append({ ...key, subpath: 'subagents/agent-1' }, [
    { type: 'assistant', uuid: `${sessionId}-s` },
  ]);
  await conversations.recordTurn(
    id,
    {
      sessionId,
      projectKey: key.projectKey,
      inputTokens: 1,
      outputTokens: 1,
      costUsd: 0.01,
      sessionCostUsd: 0.01,
      at,
      ttlMs: 25 * DAY,
    },
    null,
  );
  return key;
}

describe('sweepExpiredConversations', () => {
  it('deletes expired transcripts (subagents included) and resets their conversations, leaving live ones alone', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const old = await conversationWithTranscript('old', 'session-old', start);
    const live = await conversationWithTranscript('live', 'session-live', start + 20 * DAY);

    const swept = await sweepExpiredConversations({
      conversations,
      sessionStore,
      now: start + 26 * DAY,
    });

    expect(swept).toBe(1);
    expect(await sessionStore.load(old)).toBeNull();
    expect(await sessionStore.load({ ...old, subpath: 'subagents/agent-1' })).toBeNull();
    expect((await conversations.get('old'))?.sessionId).toBeNull();
    expect((await conversations.get('old'))?.turns).toBe(1);
    expect(await sessionStore.load(live)).not.toBeNull();
    expect((await conversations.get('live'))?.sessionId).toBe('session-live');
  });

  it("deletes an expired conversation's files through the workspace store, and no live one's", async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    const expired = { tenant: 't:1', channel: 'telegram', chatId: '-100', threadId: '7' };
    const live = { tenant: 't:1', channel: 'telegram', chatId: '42' };
    await conversationWithTranscript(conversationId(expired), 'session-old', start);
    await conversationWithTranscript(conversationId(live), 'session-live', start + 20 * DAY);
    const deleted: ConversationRef[] = [];

    await sweepExpiredConversations({
      conversations,
      sessionStore,
      workspaces: { delete: async (conversation) => void deleted.push(conversation) },
      now: start + 26 * DAY,
    });

    expect(deleted).toEqual([expired]);
  });

  it('works through more expired conversations than one batch holds', async () => {
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < 7; i++) await conversationWithTranscript(`c${i}`, `s${i}`, start);
    const swept = await sweepExpiredConversations({
      conversations,
      sessionStore,
      now: start + 30 * DAY,
      batchSize: 3,
    });
    expect(swept).toBe(7);
    expect(await conversations.listExpired(start + 30 * DAY, 10)).toEqual([]);
  });
});
