import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sqlite3 from 'sqlite3';

export const execSql = (db: sqlite3.Database, sql: string): Promise<void> =>
  new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));

/** Runs one statement; resolves with the new row's id and the rows changed. */
export const sqlRun = (db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<{ lastID: number; changes: number }> =>
  new Promise((resolve, reject) =>
    db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
      if (err) reject(err);
      else resolve({ lastID: this.lastID, changes: this.changes });
    }),
  );

export const sqlAll = <T>(db: sqlite3.Database, sql: string, params: unknown[] = []): Promise<T[]> =>
  new Promise((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));

export const closeSqlite = (db: sqlite3.Database): Promise<void> => new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));

/** Runs `fn` inside one transaction on the connection; the caller queues transactions, as the connection is shared. */
export async function inTransaction<T>(db: sqlite3.Database, fn: () => Promise<T>): Promise<T> {
  await execSql(db, 'BEGIN IMMEDIATE');
  try {
    const out = await fn();
    await execSql(db, 'COMMIT');
    return out;
  } catch (err) {
    await execSql(db, 'ROLLBACK');
    throw err;
  }
}

/** Rewrites the file from its live rows and empties the WAL, so that a value replaced in it leaves no copy in free pages. */
export const compactSqlite = (db: sqlite3.Database): Promise<void> => execSql(db, 'VACUUM; PRAGMA wal_checkpoint(TRUNCATE);');

/**
 * Opens (creating) one of the box's SQLite files with the settings every store needs: serialized statements (they
 * run in the order issued), WAL, and synchronous FULL, so a row acknowledged to its producer survives a power cut,
 * not only a process crash. Then applies the store's schema.
 */
export async function openSqlite(dataDir: string, name: string, schema: string): Promise<{ db: sqlite3.Database; file: string }> {
  await mkdir(dataDir, { recursive: true });
  const file = path.join(dataDir, name);
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  db.serialize();
  await execSql(db, 'PRAGMA journal_mode=WAL');
  await execSql(db, 'PRAGMA synchronous=FULL');
  await execSql(db, 'PRAGMA busy_timeout=5000');
  await execSql(db, schema);
  return { db, file };
}
