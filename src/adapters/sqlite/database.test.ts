import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDataDir } from '../../../test/support/temp-data-dir.js';
import {
  DatabaseSchemaError,
  databaseFile,
  migrate,
  openDatabase,
  type SqliteDatabase,
} from './database.js';
import { type Migration, migrations } from './migrations.js';

const createNotes: Migration = {
  version: 1,
  name: 'notes',
  up: "CREATE TABLE notes (text TEXT NOT NULL); INSERT INTO notes VALUES ('seed');",
};
const addTags: Migration = {
  version: 2,
  name: 'tags',
  up: (db) => db.exec('CREATE TABLE tags (name TEXT NOT NULL)'),
};

describe('openDatabase', () => {
  const opened: SqliteDatabase[] = [];
  const dirs: Array<() => void> = [];
  afterEach(() => {
    for (const db of opened.splice(0)) if (db.open) db.close();
    for (const remove of dirs.splice(0)) remove();
  });
  function open(file: string, list?: readonly Migration[]): SqliteDatabase {
    const db = openDatabase(file, list ? { migrations: list } : {});
    opened.push(db);
    return db;
  }
  function dataDir(): string {
    const { dir, remove } = tempDataDir();
    dirs.push(remove);
    return dir;
  }

  it('creates missing directories and opens in WAL mode with foreign keys and a busy timeout', () => {
    const file = databaseFile(join(dataDir(), 'nested', 'data'));
    const db = open(file);

    expect(existsSync(file)).toBe(true);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5_000);
  });

  it('brings a new file to the latest registered schema version', () => {
    const db = open(join(dataDir(), 'a.sqlite'));
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
    const tables = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
      .pluck()
      .all() as string[];
    expect(tables).toEqual(
      expect.arrayContaining(['session_transcripts', 'session_entries', 'conversations']),
    );
  });

  it('runs each migration once, and only the new ones when the list grows', () => {
    const file = join(dataDir(), 'm.sqlite');
    open(file, [createNotes]).close();
    const db = open(file, [createNotes, addTags]);

    expect(db.pragma('user_version', { simple: true })).toBe(2);
    // The seed row would be doubled had migration 1 run again.
    expect(db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(1);
    expect(migrate(db, [createNotes, addTags])).toBe(2);
    expect(db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(1);
  });

  it('rolls a failed migration back and keeps the previous version', () => {
    const file = join(dataDir(), 'f.sqlite');
    open(file, [createNotes]).close();
    const broken: Migration = {
      version: 2,
      name: 'half done',
      up: "CREATE TABLE tags (name TEXT); INSERT INTO notes VALUES ('x'); SELECT * FROM nowhere;",
    };

    const error = (() => {
      try {
        open(file, [createNotes, broken]);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(DatabaseSchemaError);
    expect((error as Error).message).toContain('half done');
    expect((error as Error).cause).toBeInstanceOf(Error);

    const db = new BetterSqlite3(file);
    opened.push(db);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    expect(db.prepare('SELECT count(*) FROM notes').pluck().get()).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'tags'").pluck().get()).toBe(
      0,
    );
  });

  it('refuses a file whose schema is newer than the code', () => {
    const file = join(dataDir(), 'n.sqlite');
    open(file, [createNotes, addTags]).close();
    expect(() => open(file, [createNotes])).toThrow(DatabaseSchemaError);
  });

  it('rejects a migration list whose versions do not run 1, 2, 3 in order', () => {
    const file = join(dataDir(), 'o.sqlite');
    expect(() => open(file, [createNotes, { ...addTags, version: 3 }])).toThrow(/expected 2/);
    expect(() => open(file, [addTags, createNotes])).toThrow(DatabaseSchemaError);
  });

  it('opens an in-memory database with the full schema', () => {
    const db = open(':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(migrations.length);
  });
});
