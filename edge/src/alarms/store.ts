import type sqlite3 from 'sqlite3';
import { closeSqlite, compactSqlite, inTransaction, openSqlite, sqlAll, sqlRun } from '../sqlite.js';
import { nextDc09Sequence, type AlarmPathReport, type AlarmsConfigureParams, type Dc09ExtendedData } from '@vigil/protocol';
import type { ArcEventType } from '@vigil/protocol/api';
import { isSealed, Sealer, type Opened } from '../security/sealed.js';
import type { TimingSample } from './timing.js';

export const AlarmEventState = {
  /** Waiting for the ARC receiver's acknowledgement. */
  queued: 'queued',
  delivered: 'delivered',
  /** Acknowledged to the panel and kept, but of a type the ARC does not receive. */
  filtered: 'filtered',
} as const;
export type AlarmEventState = (typeof AlarmEventState)[keyof typeof AlarmEventState];

export type AlarmToken = 'SIA-DCS' | 'ADM-CID';

/** A panel's event as the local receiver took it. */
export interface IncomingAlarmEvent {
  panel: string;
  /** Identifies a panel's retransmission of the same message (account, sequence and content). */
  fingerprint: string;
  token: AlarmToken;
  /** The data block as the panel sent it (its own account). */
  data: string;
  xdata: Dc09ExtendedData[];
  types: ArcEventType[];
  forward: boolean;
  receivedAt: number;
}

export interface QueuedAlarmEvent {
  id: number;
  panel: string;
  token: AlarmToken;
  data: string;
  xdata: Dc09ExtendedData[];
  /** The relay's sequence number, fixed at the first send and reused by every resend. */
  arcSequence: number | null;
  receivedAt: number;
}

export interface StoredAlarmEvent extends QueuedAlarmEvent {
  state: AlarmEventState;
  types: ArcEventType[];
  firstSentAt: number | null;
  ackedAt: number | null;
}

export interface PathState {
  state: 'ok' | 'failed';
  since: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS relay_config (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  revision INTEGER NOT NULL,
  params TEXT NOT NULL,
  stored_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  panel TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  token TEXT NOT NULL,
  data TEXT NOT NULL,
  xdata TEXT NOT NULL,
  types TEXT NOT NULL,
  state TEXT NOT NULL,
  arc_sequence INTEGER,
  received_at INTEGER NOT NULL,
  first_sent_at INTEGER,
  acked_at INTEGER
);
CREATE INDEX IF NOT EXISTS alarm_events_queue ON alarm_events (state, panel, id);
CREATE INDEX IF NOT EXISTS alarm_events_fingerprint ON alarm_events (fingerprint, received_at);
CREATE INDEX IF NOT EXISTS alarm_events_acked ON alarm_events (acked_at);
CREATE TABLE IF NOT EXISTS sequences (
  panel TEXT PRIMARY KEY,
  last INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS path_states (
  panel TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  since INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS path_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

interface EventRow {
  id: number;
  panel: string;
  token: string;
  data: string;
  xdata: string;
  types: string;
  state: string;
  arc_sequence: number | null;
  received_at: number;
  first_sent_at: number | null;
  acked_at: number | null;
}

/** A panel left out of the stored configuration: its DC-09 keys cannot be opened (another box key, or changed). */
export interface UnusablePanel {
  account: string;
  error: string;
}

export interface OpenedAlarmsConfig {
  params: AlarmsConfigureParams;
  unusable: UnusablePanel[];
  /** Some key was stored in plain text (by an older version) and should be sealed. */
  plain: boolean;
}

/** The configuration as it is written to disk: every DC-09 key not sealed yet is sealed. */
export function sealAlarmKeys(params: AlarmsConfigureParams, sealer: Sealer): AlarmsConfigureParams {
  const seal = (key: string): string => (isSealed(key) ? key : sealer.seal(key));
  return {
    ...params,
    panels: params.panels.map((p) => ({
      ...p,
      ...(p.key === undefined ? {} : { key: seal(p.key) }),
      arc: { ...p.arc, ...(p.arc.key === undefined ? {} : { key: seal(p.arc.key) }) },
    })),
  };
}

/**
 * The configuration as read from disk with its keys opened; keys in plain text (older versions) are taken as they
 * are. A panel whose keys cannot be opened is left out rather than run without them or with the wrong ones.
 */
export function openAlarmKeys(params: AlarmsConfigureParams, sealer: Sealer): OpenedAlarmsConfig {
  let plain = false;
  const open = (key: string): Opened => {
    if (isSealed(key)) return sealer.open(key);
    plain = true;
    return { ok: true, value: key };
  };
  const unusable: UnusablePanel[] = [];
  const panels: AlarmsConfigureParams['panels'] = [];
  for (const p of params.panels) {
    const key = p.key === undefined ? undefined : open(p.key);
    const arcKey = p.arc.key === undefined ? undefined : open(p.arc.key);
    const problems = [key?.ok === false ? `panel key ${key.error}` : '', arcKey?.ok === false ? `ARC key ${arcKey.error}` : ''].filter((e) => e !== '');
    if (problems.length > 0) {
      unusable.push({ account: p.account.toUpperCase(), error: problems.join('; ') });
      continue;
    }
    panels.push({
      ...p,
      ...(key?.ok ? { key: key.value } : {}),
      arc: { ...p.arc, ...(arcKey?.ok ? { key: arcKey.value } : {}) },
    });
  }
  return { params: { ...params, panels }, unusable, plain };
}

const toStored = (r: EventRow): StoredAlarmEvent => ({
  id: r.id,
  panel: r.panel,
  token: r.token as AlarmToken,
  data: r.data,
  xdata: JSON.parse(r.xdata) as Dc09ExtendedData[],
  types: JSON.parse(r.types) as ArcEventType[],
  state: r.state as AlarmEventState,
  arcSequence: r.arc_sequence,
  receivedAt: r.received_at,
  firstSentAt: r.first_sent_at,
  ackedAt: r.acked_at,
});

/**
 * The alarm relay's own SQLite file (`alarms.sqlite`, WAL, synchronous FULL), written only by the relay
 * process: its copy of the configuration, the event queue, the sequence counters, the path states and the
 * path reports not yet handed to the agent. A write is on disk when its promise resolves. The DC-09 keys in the
 * configuration are sealed with the box's key (see security/sealed.ts).
 */
export class AlarmStore {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
    private readonly sealer: Sealer,
  ) {}

  /** Opens the store; without a sealer, the data dir's key file seals the keys. Keys older versions left in plain text are sealed now. */
  static async open(dataDir: string, sealer?: Sealer): Promise<AlarmStore> {
    const box = sealer ?? (await Sealer.load({ dataDir }));
    const { db, file } = await openSqlite(dataDir, 'alarms.sqlite', SCHEMA);
    const store = new AlarmStore(db, file, box);
    try {
      await store.sealPlainKeys();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Waits for the writes already issued, then closes. */
  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await closeSqlite(this.db);
  }

  private run(sql: string, params: unknown[] = []): Promise<{ lastID: number; changes: number }> {
    return sqlRun(this.db, sql, params);
  }

  private all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return sqlAll<T>(this.db, sql, params);
  }

  /**
   * Runs every write in one queue, each inside its own transaction: a check and the insert it guards cannot be
   * split by another write on the shared connection.
   */
  private write<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => inTransaction(this.db, fn));
    this.chain = next.catch(() => undefined);
    return next;
  }

  // --- configuration copy

  private async storedConfig(): Promise<{ revision: number; params: AlarmsConfigureParams } | null> {
    const rows = await this.all<{ revision: number; params: string }>('SELECT revision, params FROM relay_config WHERE id = 1');
    const r = rows[0];
    return r ? { revision: r.revision, params: JSON.parse(r.params) as AlarmsConfigureParams } : null;
  }

  /** The stored configuration with its keys opened; panels whose keys cannot be opened are left out and listed. */
  async loadConfig(): Promise<{ revision: number; params: AlarmsConfigureParams; unusable: UnusablePanel[] } | null> {
    const stored = await this.storedConfig();
    if (!stored) return null;
    const { params, unusable } = openAlarmKeys(stored.params, this.sealer);
    return { revision: stored.revision, params, unusable };
  }

  saveConfig(revision: number, params: AlarmsConfigureParams): Promise<void> {
    return this.write(async () => {
      await this.run('INSERT OR REPLACE INTO relay_config (id, revision, params, stored_at) VALUES (1, ?, ?, ?)', [
        revision,
        JSON.stringify(sealAlarmKeys(params, this.sealer)),
        Date.now(),
      ]);
    });
  }

  /**
   * Seals the keys an older version stored in plain text, then rewrites the file from its live rows and empties the
   * WAL (VACUUM, checkpoint), so that no earlier copy of the configuration stays behind in free pages.
   */
  private async sealPlainKeys(): Promise<void> {
    const stored = await this.storedConfig();
    if (!stored || !openAlarmKeys(stored.params, this.sealer).plain) return;
    await this.write(async () => {
      await this.run('UPDATE relay_config SET params = ? WHERE id = 1', [JSON.stringify(sealAlarmKeys(stored.params, this.sealer))]);
    });
    await compactSqlite(this.db);
  }

  // --- events

  /**
   * Stores an event unless the same fingerprint was stored within `dedupWindowMs` (a panel's retransmission).
   * On disk when the promise resolves.
   */
  ingest(e: IncomingAlarmEvent, dedupWindowMs: number): Promise<{ id: number; duplicate: boolean }> {
    return this.write(async () => {
      const seen = await this.all<{ id: number }>('SELECT id FROM alarm_events WHERE fingerprint = ? AND received_at >= ? LIMIT 1', [
        e.fingerprint,
        e.receivedAt - dedupWindowMs,
      ]);
      if (seen[0]) return { id: seen[0].id, duplicate: true };
      const r = await this.run(
        'INSERT INTO alarm_events (panel, fingerprint, token, data, xdata, types, state, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
          e.panel,
          e.fingerprint,
          e.token,
          e.data,
          JSON.stringify(e.xdata),
          JSON.stringify(e.types),
          e.forward ? AlarmEventState.queued : AlarmEventState.filtered,
          e.receivedAt,
        ],
      );
      return { id: r.lastID, duplicate: false };
    });
  }

  /** The panel's oldest event still waiting for the receiver. */
  async nextQueued(panel: string): Promise<QueuedAlarmEvent | null> {
    const rows = await this.all<EventRow>('SELECT * FROM alarm_events WHERE state = ? AND panel = ? ORDER BY id LIMIT 1', [
      AlarmEventState.queued,
      panel,
    ]);
    return rows[0] ? toStored(rows[0]) : null;
  }

  /** Every event of a panel in arrival order (diagnosis and tests). */
  async events(panel: string): Promise<StoredAlarmEvent[]> {
    const rows = await this.all<EventRow>('SELECT * FROM alarm_events WHERE panel = ? ORDER BY id', [panel]);
    return rows.map(toStored);
  }

  /**
   * Gives an event the panel's next sequence number and records its first send, both on disk before the frame
   * leaves, so that a restart resends it with the same number and never hands the number out again.
   */
  assignSequence(eventId: number, panel: string, at: number): Promise<number> {
    return this.write(async () => {
      const rows = await this.all<{ last: number }>('SELECT last FROM sequences WHERE panel = ?', [panel]);
      const sequence = nextDc09Sequence(rows[0]?.last ?? 0);
      await this.run('INSERT OR REPLACE INTO sequences (panel, last) VALUES (?, ?)', [panel, sequence]);
      await this.run('UPDATE alarm_events SET arc_sequence = ?, first_sent_at = ? WHERE id = ?', [sequence, at, eventId]);
      return sequence;
    });
  }

  /**
   * Takes a queued event out of the queue on the receiver's ACK; false when it was not queued (already delivered
   * by the other path, or unknown).
   */
  markDelivered(eventId: number, at: number): Promise<boolean> {
    return this.write(async () => {
      const r = await this.run('UPDATE alarm_events SET state = ?, acked_at = ? WHERE id = ? AND state = ?', [
        AlarmEventState.delivered,
        at,
        eventId,
        AlarmEventState.queued,
      ]);
      return r.changes > 0;
    });
  }

  /** The panel's events still waiting for the receiver, oldest first, at most `limit`. */
  async queued(panel: string, limit: number): Promise<QueuedAlarmEvent[]> {
    const rows = await this.all<EventRow>('SELECT * FROM alarm_events WHERE state = ? AND panel = ? ORDER BY id LIMIT ?', [
      AlarmEventState.queued,
      panel,
      limit,
    ]);
    return rows.map(toStored);
  }

  /** Which of these events are in which panel's queue. */
  async queuedPanels(eventIds: number[]): Promise<Map<number, string>> {
    if (eventIds.length === 0) return new Map();
    const rows = await this.all<{ id: number; panel: string }>(
      `SELECT id, panel FROM alarm_events WHERE state = ? AND id IN (${eventIds.map(() => '?').join(', ')})`,
      [AlarmEventState.queued, ...eventIds],
    );
    return new Map(rows.map((r) => [r.id, r.panel]));
  }

  /** Queued events per panel: how many and since when. */
  async queueSummary(): Promise<Map<string, { queued: number; oldest: number }>> {
    const rows = await this.all<{ panel: string; n: number; oldest: number }>(
      'SELECT panel, COUNT(*) AS n, MIN(received_at) AS oldest FROM alarm_events WHERE state = ? GROUP BY panel',
      [AlarmEventState.queued],
    );
    return new Map(rows.map((r) => [r.panel, { queued: r.n, oldest: r.oldest }]));
  }

  /** The last acknowledgement per panel. */
  async lastAcks(): Promise<Map<string, number>> {
    const rows = await this.all<{ panel: string; at: number }>(
      'SELECT panel, MAX(acked_at) AS at FROM alarm_events WHERE state = ? GROUP BY panel',
      [AlarmEventState.delivered],
    );
    return new Map(rows.map((r) => [r.panel, r.at]));
  }

  /** Deliveries acknowledged since `since`, newest first, at most `limit`. */
  async timingSamples(since: number, limit = 10_000): Promise<TimingSample[]> {
    const rows = await this.all<{ received_at: number; acked_at: number }>(
      'SELECT received_at, acked_at FROM alarm_events WHERE acked_at >= ? AND state = ? ORDER BY acked_at DESC LIMIT ?',
      [since, AlarmEventState.delivered, limit],
    );
    return rows.map((r) => ({ receivedAt: r.received_at, ackedAt: r.acked_at }));
  }

  /** Forgets delivered and filtered events received before `before`; queued ones are never removed. */
  prune(before: number): Promise<number> {
    return this.write(async () => {
      const r = await this.run('DELETE FROM alarm_events WHERE state != ? AND received_at < ?', [AlarmEventState.queued, before]);
      return r.changes;
    });
  }

  // --- paths and their reports

  async pathStates(): Promise<Map<string, PathState>> {
    const rows = await this.all<{ panel: string; state: PathState['state']; since: number }>('SELECT panel, state, since FROM path_states');
    return new Map(rows.map((r) => [r.panel, { state: r.state, since: r.since }]));
  }

  /** Records a path's new state, and the report to hand to the agent when there is one. Returns its id. */
  setPathState(panel: string, state: PathState, report?: AlarmPathReport): Promise<number | null> {
    return this.write(async () => {
      await this.run('INSERT OR REPLACE INTO path_states (panel, state, since) VALUES (?, ?, ?)', [panel, state.state, state.since]);
      if (!report) return null;
      const r = await this.run('INSERT INTO path_reports (report, created_at) VALUES (?, ?)', [JSON.stringify(report), Date.now()]);
      return r.lastID;
    });
  }

  async pendingPathReports(): Promise<{ id: number; report: AlarmPathReport }[]> {
    const rows = await this.all<{ id: number; report: string }>('SELECT id, report FROM path_reports ORDER BY id');
    return rows.map((r) => ({ id: r.id, report: JSON.parse(r.report) as AlarmPathReport }));
  }

  deletePathReport(id: number): Promise<void> {
    return this.write(async () => {
      await this.run('DELETE FROM path_reports WHERE id = ?', [id]);
    });
  }
}
