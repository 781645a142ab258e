import type sqlite3 from 'sqlite3';
import { closeSqlite, compactSqlite, inTransaction, openSqlite, sqlAll, sqlRun } from './sqlite.js';
import type { DeviceReport } from '@vigil/protocol';
import { isSealed, Sealer, SecretKeyError } from './security/sealed.js';

export interface StoredCredentials {
  edgeId: string;
  username: string;
  password: string;
}

export interface OutboxRow {
  seq: number;
  topic: string;
  payload: Buffer;
  createdAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS credentials (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  edge_id TEXT NOT NULL,
  username TEXT NOT NULL,
  password TEXT NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS devices (
  device_id TEXT PRIMARY KEY,
  report TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
`;

/**
 * The edge's local state in one SQLite file (WAL): credentials, the durable outbox, known devices, and settings
 * the cloud pushes (JSON by key). The MQTT secret is sealed with the box's key (security/sealed.ts): the agent
 * needs it back at every start, but a copy of this file alone does not give it away.
 */
export class Store {
  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
    /** Seals what this store and its users keep secret (the credentials here, the DC-09 keys in the settings). */
    readonly sealer: Sealer,
  ) {}

  /**
   * Opens the store; without a sealer, the data dir's key file seals the secrets. A secret an older version stored in
   * plain text is sealed now.
   */
  static async open(dataDir: string, sealer?: Sealer): Promise<Store> {
    const box = sealer ?? (await Sealer.load({ dataDir }));
    const { db, file } = await openSqlite(dataDir, 'edge.sqlite', SCHEMA);
    const store = new Store(db, file, box);
    try {
      await store.sealPlainCredentials();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  close(): Promise<void> {
    return closeSqlite(this.db);
  }

  private txChain: Promise<unknown> = Promise.resolve();

  /** Runs `fn` inside one transaction; transactions are queued because the connection is shared. */
  private transaction<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.txChain.then(() => inTransaction(this.db, fn));
    this.txChain = next.catch(() => undefined);
    return next;
  }

  private run(sql: string, params: unknown[] = []): Promise<{ lastID: number; changes: number }> {
    return sqlRun(this.db, sql, params);
  }

  private all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return sqlAll<T>(this.db, sql, params);
  }

  // --- credentials

  private async storedCredentials(): Promise<StoredCredentials | null> {
    const rows = await this.all<{ edge_id: string; username: string; password: string }>(
      'SELECT edge_id, username, password FROM credentials WHERE id = 1',
    );
    const r = rows[0];
    return r ? { edgeId: r.edge_id, username: r.username, password: r.password } : null;
  }

  /**
   * Throws when the stored secret cannot be opened (another box key, or changed): each connection attempt then fails
   * with that error, while the rest of the box (the alarm relay above all) runs on and the sealed value is kept for
   * the right key.
   */
  async getCredentials(): Promise<StoredCredentials | null> {
    const c = await this.storedCredentials();
    if (!c || !isSealed(c.password)) return c;
    const opened = this.sealer.open(c.password);
    if (!opened.ok) {
      throw new SecretKeyError(
        `${this.file}: the stored MQTT secret ${opened.error}; restore the box's key (secret.key in the data dir, or VIGIL_EDGE_SECRET_KEY)`,
      );
    }
    return { ...c, password: opened.value };
  }

  async setCredentials(c: StoredCredentials): Promise<void> {
    await this.run(
      'INSERT OR REPLACE INTO credentials (id, edge_id, username, password, stored_at) VALUES (1, ?, ?, ?, ?)',
      [c.edgeId, c.username, this.sealer.seal(c.password), Date.now()],
    );
  }

  private async sealPlainCredentials(): Promise<void> {
    const c = await this.storedCredentials();
    if (!c || isSealed(c.password)) return;
    await this.setCredentials(c);
    await this.compact();
  }

  /**
   * Rewrites the file from its live rows and empties the WAL (VACUUM, checkpoint), so that a value replaced in it
   * (a secret an older version kept in plain text) leaves no copy in free pages. Queued after the transactions.
   */
  compact(): Promise<void> {
    const next = this.txChain.then(async () => {
      await compactSqlite(this.db);
    });
    this.txChain = next.catch(() => undefined);
    return next;
  }

  async deleteCredentials(): Promise<void> {
    await this.run('DELETE FROM credentials');
  }

  // --- outbox

  /**
   * Appends a message; it is on disk when the promise resolves. With `replaceSameTopic`, pending rows of
   * the same topic are dropped first (a newer full snapshot supersedes them).
   */
  async enqueue(topic: string, payload: Uint8Array, opts: { replaceSameTopic?: boolean } = {}): Promise<number> {
    if (!opts.replaceSameTopic) {
      const r = await this.run('INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)', [
        topic,
        Buffer.from(payload),
        Date.now(),
      ]);
      return r.lastID;
    }
    return this.transaction(async () => {
      await this.run('DELETE FROM outbox WHERE topic = ?', [topic]);
      const r = await this.run('INSERT INTO outbox (topic, payload, created_at) VALUES (?, ?, ?)', [
        topic,
        Buffer.from(payload),
        Date.now(),
      ]);
      return r.lastID;
    });
  }

  /** The oldest rows with seq greater than `afterSeq`, in order. */
  async outboxAfter(afterSeq: number, limit: number): Promise<OutboxRow[]> {
    const rows = await this.all<{ seq: number; topic: string; payload: Buffer; created_at: number }>(
      'SELECT seq, topic, payload, created_at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?',
      [afterSeq, limit],
    );
    return rows.map((r) => ({ seq: r.seq, topic: r.topic, payload: r.payload, createdAt: r.created_at }));
  }

  async deleteOutbox(seq: number): Promise<void> {
    await this.run('DELETE FROM outbox WHERE seq = ?', [seq]);
  }

  async outboxDepth(): Promise<number> {
    const rows = await this.all<{ n: number }>('SELECT COUNT(*) AS n FROM outbox');
    return rows[0]?.n ?? 0;
  }

  // --- settings

  async getSetting(key: string): Promise<string | null> {
    const rows = await this.all<{ value: string }>('SELECT value FROM settings WHERE key = ?', [key]);
    return rows[0]?.value ?? null;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.run('INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, ?)', [key, value, Date.now()]);
  }

  // --- devices

  async listDevices(): Promise<DeviceReport[]> {
    const rows = await this.all<{ report: string }>('SELECT report FROM devices ORDER BY device_id');
    return rows.map((r) => JSON.parse(r.report) as DeviceReport);
  }

  async saveDevices(devices: readonly DeviceReport[]): Promise<void> {
    if (devices.length === 0) return;
    await this.transaction(async () => {
      for (const d of devices) {
        await this.run('INSERT OR REPLACE INTO devices (device_id, report, updated_at) VALUES (?, ?, ?)', [
          d.deviceId,
          JSON.stringify(d),
          Date.now(),
        ]);
      }
    });
  }
}
