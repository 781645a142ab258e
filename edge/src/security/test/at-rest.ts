import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sqlite3 from 'sqlite3';

/** The bytes of a SQLite file and its companions (`-wal`, `-shm`, `-journal`) as they are on disk. */
export async function rawDatabase(dataDir: string, name: string): Promise<Buffer> {
  const files = (await readdir(dataDir)).filter((f) => f.startsWith(name)).sort();
  return Buffer.concat(await Promise.all(files.map((f) => readFile(path.join(dataDir, f)))));
}

/** Which of the hex secrets appear in `raw`: as upper- or lower-case text, or as their bytes. */
export const leaked = (raw: Buffer, secrets: string[]): string[] =>
  secrets.filter((s) => raw.includes(s.toUpperCase()) || raw.includes(s.toLowerCase()) || (/^[0-9A-Fa-f]+$/.test(s) && raw.includes(Buffer.from(s, 'hex'))));

/** Runs statements on a SQLite file through a connection of its own, as an older version of the box would have written it. */
export async function writeDirectly(file: string, statements: [sql: string, params: unknown[]][]): Promise<void> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  db.serialize();
  try {
    for (const [sql, params] of statements) {
      await new Promise<void>((resolve, reject) => db.run(sql, params, (err) => (err ? reject(err) : resolve())));
    }
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

/** One column of the first row a query returns, read through a connection of its own. */
export async function readDirectly(file: string, sql: string): Promise<unknown> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    const rows = await new Promise<Record<string, unknown>[]>((resolve, reject) =>
      db.all(sql, (err, r) => (err ? reject(err) : resolve(r as Record<string, unknown>[]))),
    );
    return Object.values(rows[0] ?? {})[0];
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}
