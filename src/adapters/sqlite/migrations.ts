import type BetterSqlite3 from 'better-sqlite3';

/**
 * One step of the database schema. The database's `user_version` pragma
 * records the last step applied, so each step runs exactly once per file.
 */
export interface Migration {
  /** The schema version after this step: 1 for the first, then +1 each. */
  readonly version: number;
  /** What the step is for; shown when it fails. */
  readonly name: string;
  /** SQL (several statements allowed), or a function for what SQL alone cannot express. */
  readonly up: string | ((db: BetterSqlite3.Database) => void);
}

/**
 * Every schema step of the local database, oldest first.
 *
 * To add a table (a job queue, a dedupe table, ...), append an entry with the
 * next version number. Never edit or reorder an entry that has shipped: files
 * already migrated past it would not run it again.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'session store: transcripts and their entries',
    // A transcript is one (projectKey, sessionId, subpath); subpath '' is the
    // main transcript (the SDK never uses '' for a subagent). The main row also
    // carries the SDK's folded summary, so it shares the row's mtime clock.
    // Entries are ordered by their AUTOINCREMENT seq, never by clocks; the
    // partial unique index makes `uuid` an idempotency key per transcript
    // while entries without one are always appended.
    up: `
      CREATE TABLE session_transcripts (
        id INTEGER PRIMARY KEY,
        project_key TEXT NOT NULL,
        session_id TEXT NOT NULL,
        subpath TEXT NOT NULL,
        mtime INTEGER NOT NULL,
        summary TEXT,
        UNIQUE (project_key, session_id, subpath)
      ) STRICT;

      CREATE TABLE session_entries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        transcript_id INTEGER NOT NULL REFERENCES session_transcripts (id) ON DELETE CASCADE,
        uuid TEXT,
        entry TEXT NOT NULL
      ) STRICT;

      -- The rowid (seq) is implicitly the index's last column, so this index
      -- also serves "ORDER BY seq" for one transcript.
      CREATE INDEX session_entries_by_transcript ON session_entries (transcript_id);

      CREATE UNIQUE INDEX session_entries_uuid
        ON session_entries (transcript_id, uuid) WHERE uuid IS NOT NULL;
    `,
  },
  {
    version: 2,
    name: 'conversation index',
    // Only records that still hold a session can be swept, so only those are
    // indexed by expiry.
    up: `
      CREATE TABLE conversations (
        conversation_id TEXT PRIMARY KEY,
        session_id TEXT,
        project_key TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        turns INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        session_cost_usd REAL NOT NULL,
        version INTEGER NOT NULL
      ) STRICT;

      CREATE INDEX conversations_by_expiry
        ON conversations (expires_at) WHERE session_id IS NOT NULL;
    `,
  },
  {
    version: 3,
    name: 'job queue, seen messages and reply outbox',
    // A lane is one conversation's turn or control messages; its jobs run in
    // seq order, leased ones always a prefix of it. Dead letters stay (with
    // their error) for the operator; seen_messages outlives the jobs so a
    // redelivered update is still recognised after its job is done.
    up: `
      CREATE TABLE jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        lane TEXT NOT NULL,
        kind TEXT NOT NULL,
        conversation_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at INTEGER NOT NULL,
        lease_until INTEGER,
        enqueued_at INTEGER NOT NULL,
        finished_at INTEGER,
        last_error TEXT
      ) STRICT;

      CREATE INDEX jobs_by_lane ON jobs (lane, seq) WHERE state <> 'dead';
      CREATE INDEX jobs_by_kind ON jobs (kind, state, seq);

      CREATE TABLE seen_messages (
        id TEXT PRIMARY KEY,
        seen_at INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;

      CREATE INDEX seen_messages_by_age ON seen_messages (seen_at);

      CREATE TABLE reply_outbox (
        key TEXT PRIMARY KEY,
        entry TEXT NOT NULL,
        sent INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: 'conversation index: cost per day, for the daily budget',
    // Existing rows start with no day counted, which the runtime reads as
    // nothing spent today.
    up: `
      ALTER TABLE conversations ADD COLUMN cost_day TEXT;
      ALTER TABLE conversations ADD COLUMN cost_day_usd REAL NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 5,
    name: 'reply outbox: the messages an answer is edited into, and the status message',
    // part_messages: JSON object, part index -> channel message id. A row may
    // exist before its answer does (entry 'null') to hold the status message
    // a turn showed, so a retry after a crash reuses or removes it.
    up: `
      ALTER TABLE reply_outbox ADD COLUMN part_messages TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE reply_outbox ADD COLUMN status_message TEXT;
    `,
  },
  {
    version: 6,
    name: 'conversation index: the last transcript entry of the last settled turn',
    // Existing rows have none: their sessions resume at the latest entry, as before.
    up: `
      ALTER TABLE conversations ADD COLUMN last_good_entry TEXT;
    `,
  },
  {
    version: 7,
    name: 'questions to the person and "always" approvals',
    // One open question per conversation (a new one replaces it). selected is
    // a JSON array of option indexes, answer the JSON StoredAnswer once given.
    // Grants go with the session: resetSession (/new, expiry, the sweep) sets
    // session_id to NULL and deleting the record ends the conversation, so
    // the triggers forget its grants in the same transaction, whichever path
    // resets it.
    up: `
      CREATE TABLE open_questions (
        conversation_id TEXT PRIMARY KEY,
        question_id TEXT NOT NULL,
        options INTEGER NOT NULL,
        multi_select INTEGER NOT NULL,
        free_text INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        selected TEXT NOT NULL,
        answer TEXT,
        last_press TEXT,
        answered_by TEXT
      ) STRICT;

      CREATE TABLE question_grants (
        conversation_id TEXT NOT NULL,
        grant_key TEXT NOT NULL,
        granted_at INTEGER NOT NULL,
        PRIMARY KEY (conversation_id, grant_key)
      ) STRICT, WITHOUT ROWID;

      CREATE TRIGGER question_grants_forgotten_on_reset
        AFTER UPDATE OF session_id ON conversations
        WHEN NEW.session_id IS NULL
      BEGIN
        DELETE FROM question_grants WHERE conversation_id = NEW.conversation_id;
      END;

      CREATE TRIGGER question_grants_forgotten_on_delete
        AFTER DELETE ON conversations
      BEGIN
        DELETE FROM question_grants WHERE conversation_id = OLD.conversation_id;
      END;
    `,
  },
];
