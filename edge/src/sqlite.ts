import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import sqlite3 from 'sqlite3';

export const execSql = (db: sqlite3.Database, sql: string): Promise<void> =>
  new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));

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
