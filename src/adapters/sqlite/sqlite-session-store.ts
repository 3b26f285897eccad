import {
  foldSessionSummary,
  type SessionKey,
  type SessionStore,
  type SessionStoreEntry,
  type SessionSummaryEntry,
} from '@anthropic-ai/claude-agent-sdk';
import { migrate, openDatabase, type SqliteDatabase } from './database.js';

export interface SqliteSessionStoreOptions {
  /** Storage clock for `mtime`, epoch ms; injectable for tests. */
  now?: () => number;
}

interface TranscriptRow {
  id: number;
  mtime: number;
  summary: string | null;
}

interface PreparedEntry {
  entry: SessionStoreEntry;
  uuid: string | null;
  json: string;
}

/** The main transcript is stored under subpath '' (the SDK never uses '' for a subagent). */
const MAIN = '';

/**
 * The SDK's `SessionStore` on the embedded SQLite database: one row per
 * transcript line, so an append writes only the lines it brings.
 */
export class SqliteSessionStore implements SessionStore {
  readonly db: SqliteDatabase;
  readonly #ownsDb: boolean;
  readonly #now: () => number;
  #bytesWritten = 0;
  #entriesWritten = 0;

  readonly #selectTranscript;
  readonly #insertTranscript;
  readonly #insertEntry;
  readonly #touchTranscript;
  readonly #selectEntries;
  readonly #selectSessions;
  readonly #selectSummaries;
  readonly #selectSubkeys;
  readonly #deleteSessionEntries;
  readonly #deleteSession;
  readonly #deleteTranscriptEntries;
  readonly #deleteTranscript;
  readonly #appendTransaction;
  readonly #loadTransaction;
  readonly #deleteTransaction;

  /** Takes an open database (shared with other adapters) or a file path to open and own. */
  constructor(database: SqliteDatabase | string, options: SqliteSessionStoreOptions = {}) {
    this.#ownsDb = typeof database === 'string';
    this.db = typeof database === 'string' ? openDatabase(database) : database;
    // A no-op on a database opened with openDatabase; creates the tables on a bare one.
    if (!this.#ownsDb) migrate(this.db);
    this.#now = options.now ?? Date.now;
    const db = this.db;

    this.#selectTranscript = db.prepare<[string, string, string], TranscriptRow>(
      `SELECT id, mtime, summary FROM session_transcripts
       WHERE project_key = ? AND session_id = ? AND subpath = ?`,
    );
    this.#insertTranscript = db.prepare<[string, string, string, number], TranscriptRow>(
      `INSERT INTO session_transcripts (project_key, session_id, subpath, mtime)
       VALUES (?, ?, ?, ?) RETURNING id, mtime, summary`,
    );
    // OR IGNORE only meets the partial unique index on (transcript_id, uuid):
    // a line already stored under that uuid is skipped, not duplicated.
    this.#insertEntry = db.prepare<[number, string | null, string]>(
      'INSERT OR IGNORE INTO session_entries (transcript_id, uuid, entry) VALUES (?, ?, ?)',
    );
    this.#touchTranscript = db.prepare<[number, string | null, number]>(
      'UPDATE session_transcripts SET mtime = ?, summary = ? WHERE id = ?',
    );
    this.#selectEntries = db
      .prepare<[number], string>(
        'SELECT entry FROM session_entries WHERE transcript_id = ? ORDER BY seq',
      )
      .pluck();
    this.#selectSessions = db.prepare<[string], { sessionId: string; mtime: number }>(
      `SELECT session_id AS sessionId, mtime FROM session_transcripts
       WHERE project_key = ? AND subpath = ''`,
    );
    this.#selectSummaries = db.prepare<
      [string],
      { sessionId: string; mtime: number; summary: string }
    >(
      `SELECT session_id AS sessionId, mtime, summary FROM session_transcripts
       WHERE project_key = ? AND subpath = '' AND summary IS NOT NULL`,
    );
    this.#selectSubkeys = db
      .prepare<[string, string], string>(
        `SELECT subpath FROM session_transcripts
         WHERE project_key = ? AND session_id = ? AND subpath <> '' ORDER BY subpath`,
      )
      .pluck();
    // Entries are deleted explicitly rather than through ON DELETE CASCADE, so
    // a connection opened without `foreign_keys = ON` cannot leave orphans.
    this.#deleteSessionEntries = db.prepare<[string, string]>(
      `DELETE FROM session_entries WHERE transcript_id IN (
         SELECT id FROM session_transcripts WHERE project_key = ? AND session_id = ?)`,
    );
    this.#deleteSession = db.prepare<[string, string]>(
      'DELETE FROM session_transcripts WHERE project_key = ? AND session_id = ?',
    );
    this.#deleteTranscriptEntries = db.prepare<[string, string, string]>(
      `DELETE FROM session_entries WHERE transcript_id IN (
         SELECT id FROM session_transcripts
         WHERE project_key = ? AND session_id = ? AND subpath = ?)`,
    );
    this.#deleteTranscript = db.prepare<[string, string, string]>(
      'DELETE FROM session_transcripts WHERE project_key = ? AND session_id = ? AND subpath = ?',
    );

    this.#appendTransaction = db.transaction(this.#appendRows.bind(this));
    this.#loadTransaction = db.transaction((key: SessionKey) => {
      const transcript = this.#selectTranscript.get(key.projectKey, key.sessionId, subpathOf(key));
      if (!transcript) return null;
      return this.#selectEntries.all(transcript.id).map((json) => JSON.parse(json));
    });
    this.#deleteTransaction = db.transaction((key: SessionKey) => {
      const subpath = subpathOf(key);
      if (subpath === MAIN) {
        this.#deleteSessionEntries.run(key.projectKey, key.sessionId);
        this.#deleteSession.run(key.projectKey, key.sessionId);
      } else {
        this.#deleteTranscriptEntries.run(key.projectKey, key.sessionId, subpath);
        this.#deleteTranscript.run(key.projectKey, key.sessionId, subpath);
      }
    });
  }

  /** UTF-8 bytes of entry JSON this instance has stored (replayed duplicates excluded). */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /** Entries this instance has stored (replayed duplicates excluded). */
  get entriesWritten(): number {
    return this.#entriesWritten;
  }

  async append(key: SessionKey, entries: SessionStoreEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Serialise before touching the database: an entry that cannot become
    // JSON fails the batch without a write.
    const prepared = entries.map(prepareEntry);
    // IMMEDIATE takes the write lock up front, which serialises the
    // read-fold-write of the summary against other connections.
    const stored = this.#appendTransaction.immediate(key, prepared);
    this.#entriesWritten += stored.entries;
    this.#bytesWritten += stored.bytes;
  }

  #appendRows(key: SessionKey, prepared: PreparedEntry[]): { entries: number; bytes: number } {
    const subpath = subpathOf(key);
    const now = Math.floor(this.#now());
    const transcript =
      this.#selectTranscript.get(key.projectKey, key.sessionId, subpath) ??
      this.#insertTranscript.get(key.projectKey, key.sessionId, subpath, now);
    if (!transcript) throw new Error('session transcript row was not created');

    const inserted: SessionStoreEntry[] = [];
    let bytes = 0;
    for (const { entry, uuid, json } of prepared) {
      if (this.#insertEntry.run(transcript.id, uuid, json).changes === 0) continue;
      inserted.push(entry);
      bytes += Buffer.byteLength(json, 'utf8');
    }

    // Never move mtime backwards, even if this clock lags another writer's.
    const mtime = Math.max(now, transcript.mtime);
    let summary: string | null = null;
    if (subpath === MAIN) {
      // Only entries stored now are folded: a replayed older batch must not
      // overwrite last-wins fields (titles, last prompt) with stale values.
      const previous: SessionSummaryEntry | undefined =
        transcript.summary === null
          ? undefined
          : {
              sessionId: key.sessionId,
              mtime: transcript.mtime,
              data: JSON.parse(transcript.summary),
            };
      const folded = foldSessionSummary(
        previous,
        { projectKey: key.projectKey, sessionId: key.sessionId },
        inserted,
        { mtime },
      );
      summary = JSON.stringify(folded.data);
    }
    this.#touchTranscript.run(mtime, summary, transcript.id);
    return { entries: inserted.length, bytes };
  }

  async load(key: SessionKey): Promise<SessionStoreEntry[] | null> {
    // One read transaction: a concurrent delete cannot show up half-way.
    return this.#loadTransaction(key);
  }

  async listSessions(projectKey: string): Promise<Array<{ sessionId: string; mtime: number }>> {
    return this.#selectSessions.all(projectKey);
  }

  async listSessionSummaries(projectKey: string): Promise<SessionSummaryEntry[]> {
    return this.#selectSummaries.all(projectKey).map((row) => ({
      sessionId: row.sessionId,
      mtime: row.mtime,
      data: JSON.parse(row.summary),
    }));
  }

  /** A main key removes the whole session (subagent transcripts, summary); a subpath only itself. */
  async delete(key: SessionKey): Promise<void> {
    this.#deleteTransaction(key);
  }

  async listSubkeys(key: { projectKey: string; sessionId: string }): Promise<string[]> {
    return this.#selectSubkeys.all(key.projectKey, key.sessionId);
  }

  /** Closes the database if this store opened it; a shared one is left to its owner. */
  close(): void {
    if (this.#ownsDb) this.db.close();
  }
}

function subpathOf(key: SessionKey): string {
  return key.subpath ?? MAIN;
}

function prepareEntry(entry: SessionStoreEntry): PreparedEntry {
  const json: string | undefined = JSON.stringify(entry);
  if (typeof json !== 'string') throw new TypeError('session store entry is not JSON-serialisable');
  return { entry, uuid: typeof entry.uuid === 'string' ? entry.uuid : null, json };
}
