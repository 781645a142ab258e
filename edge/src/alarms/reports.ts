import type sqlite3 from 'sqlite3';
import type { ALARM_EVENT_EVENT, ALARM_SENT_EVENT, AlarmEventReport, AlarmSentReport } from '@vigil/protocol';
import { closeSqlite, openSqlite, sqlAll, sqlRun } from '../sqlite.js';

/** A report for the cloud's alarm log (see ALARM_EVENT_EVENT), with the event kind it goes out as. */
export type AlarmLogReport = { kind: typeof ALARM_EVENT_EVENT; report: AlarmEventReport } | { kind: typeof ALARM_SENT_EVENT; report: AlarmSentReport };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * The alarm log reports not yet in the agent's outbox, in their own SQLite file (`alarm-reports.sqlite`): writing
 * them never queues behind, or ahead of, the relay's own writes, so reporting cannot slow the relay down.
 */
export class AlarmReports {
  private constructor(private readonly db: sqlite3.Database) {}

  static async open(dataDir: string): Promise<AlarmReports> {
    const { db } = await openSqlite(dataDir, 'alarm-reports.sqlite', SCHEMA);
    return new AlarmReports(db);
  }

  close(): Promise<void> {
    return closeSqlite(this.db);
  }

  /** Keeps a report until `remove`; resolves with its id once it is on disk. */
  async add(r: AlarmLogReport): Promise<number> {
    return (await sqlRun(this.db, 'INSERT INTO reports (report, created_at) VALUES (?, ?)', [JSON.stringify(r), Date.now()])).lastID;
  }

  /** Oldest first. */
  async pending(): Promise<{ id: number; report: AlarmLogReport }[]> {
    const rows = await sqlAll<{ id: number; report: string }>(this.db, 'SELECT id, report FROM reports ORDER BY id');
    return rows.map((r) => ({ id: r.id, report: JSON.parse(r.report) as AlarmLogReport }));
  }

  async remove(id: number): Promise<void> {
    await sqlRun(this.db, 'DELETE FROM reports WHERE id = ?', [id]);
  }
}
