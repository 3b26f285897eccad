import type { SessionKey, SessionStore, SessionStoreEntry } from '@anthropic-ai/claude-agent-sdk';

/**
 * Passes everything through to the real store and notes the project key the
 * SDK used for the main transcript. The SDK derives that key from the working
 * directory with its own rules; recording what it actually used (rather than
 * re-deriving it) is what lets an expired session be deleted later.
 */
export class ProjectKeyRecorder implements SessionStore {
  projectKey: string | undefined;
  /**
   * The uuid of the last conversation-chain entry (one with a `parentUuid`)
   * this turn appended to the main transcript: where a later turn resumes
   * (`resumeSessionAt`) if this one settles. Bookkeeping entries (cost, last
   * prompt, mode) carry no uuid and are not on the chain.
   */
  lastChainEntry: string | undefined;

  constructor(private readonly inner: SessionStore) {
    // Optional methods are forwarded only when the inner store has them: the SDK
    // changes behaviour on their presence (e.g. listSubkeys drives subagent resume).
    if (inner.listSubkeys)
      this.listSubkeys = (key) => inner.listSubkeys?.(key) ?? Promise.resolve([]);
    if (inner.listSessions)
      this.listSessions = (projectKey) => inner.listSessions?.(projectKey) ?? Promise.resolve([]);
    if (inner.listSessionSummaries) {
      this.listSessionSummaries = (projectKey) =>
        inner.listSessionSummaries?.(projectKey) ?? Promise.resolve([]);
    }
    if (inner.delete) this.delete = (key) => inner.delete?.(key) ?? Promise.resolve();
  }

  listSubkeys?: SessionStore['listSubkeys'];
  listSessions?: SessionStore['listSessions'];
  listSessionSummaries?: SessionStore['listSessionSummaries'];
  delete?: SessionStore['delete'];

  append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    if (key.subpath === undefined) {
      this.projectKey = key.projectKey;
      for (const entry of entries) {
        if (typeof entry.uuid === 'string' && 'parentUuid' in entry)
          this.lastChainEntry = entry.uuid;
      }
    }
    return this.inner.append(key, entries);
  }

  load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    if (key.subpath === undefined) this.projectKey ??= key.projectKey;
    return this.inner.load(key);
  }
}
