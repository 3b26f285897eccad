import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { AgentError } from '../../domain/errors.js';
import { migrations as allMigrations, type Migration } from './migrations.js';

export type SqliteDatabase = BetterSqlite3.Database;

/** File name of the database inside the data directory. */
export const DATABASE_FILE_NAME = 'agent.sqlite';

/** The database file of a data directory. */
export function databaseFile(dataDir: string): string {
  return join(dataDir, DATABASE_FILE_NAME);
}

/** The schema of a database file does not fit this code, or a migration failed. */
export class DatabaseSchemaError extends AgentError {
  static override readonly errorName = 'DatabaseSchemaError';
}

export interface OpenDatabaseOptions {
  /** Schema steps to apply; every registered migration unless a test says otherwise. */
  migrations?: readonly Migration[];
  /** How long a statement waits for another connection's lock before failing. */
  busyTimeoutMs?: number;
}

/**
 * Open (creating it and its directory if needed) the database file and bring
 * its schema up to date. `:memory:` opens a private in-memory database.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions = {}): SqliteDatabase {
  const inMemory = file === ':memory:' || file === '';
  if (!inMemory) mkdirSync(dirname(file), { recursive: true });
  // better-sqlite3's `timeout` is SQLite's busy_timeout: writers from another
  // connection (a second process, a CLI) make us wait rather than fail.
  const db = new BetterSqlite3(file, { timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    // WAL lets readers run while one writer appends, and makes a commit a
    // single sequential write.
    if (!inMemory) db.pragma('journal_mode = WAL');
    // Off by default in SQLite, and the schema's cascades rely on it.
    db.pragma('foreign_keys = ON');
    migrate(db, options.migrations ?? allMigrations);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function schemaVersion(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Apply the migrations the database has not seen yet, each in its own
 * transaction together with its `user_version` bump, so a failed step leaves
 * the file at the previous version. Returns the resulting version.
 */
export function migrate(
  db: SqliteDatabase,
  migrations: readonly Migration[] = allMigrations,
): number {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new DatabaseSchemaError(
        `migration "${migration.name}" has version ${migration.version}, expected ${index + 1}: versions must run 1, 2, 3, ... in list order`,
      );
    }
  });
  const latest = migrations.length;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new DatabaseSchemaError(
      `database schema version ${current} is newer than this code knows (${latest}); refusing to use it`,
    );
  }
  for (const migration of migrations.slice(current)) {
    const step = db.transaction(() => {
      // Checked again under the write lock: another process opening the same
      // file at the same moment may have applied this step already.
      if (schemaVersion(db) >= migration.version) return;
      if (typeof migration.up === 'string') db.exec(migration.up);
      else migration.up(db);
      // A pragma takes no bound parameters; the version is a checked integer.
      db.pragma(`user_version = ${migration.version}`);
    });
    try {
      step.immediate();
    } catch (error) {
      throw new DatabaseSchemaError(
        `migration ${migration.version} ("${migration.name}") failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
  return schemaVersion(db);
}
