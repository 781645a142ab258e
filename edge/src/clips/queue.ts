import { EventEmitter } from 'node:events';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type sqlite3 from 'sqlite3';
import {
  ClipDropReason,
  ClipDroppedReportSchema,
  ClipUploadCreateSchema,
  decoder,
  type ClipDroppedReport,
  type ClipUploadCreate,
} from '@vigil/protocol';
import type { Logger } from '../log.js';
import { closeSqlite, inTransaction, openSqlite, sqlAll, sqlRun } from '../sqlite.js';
import { sha256Of, type ClipEvent, type ClipRecord } from './assemble.js';
import type { ClipFiles } from './recorder.js';

/**
 * What the queue reads of a clip's sidecar (a ClipRecord): its id, its events and its channel key (`channelId`),
 * the footage's times and the video's size and sha256.
 */
export type ClipRecordWithEvents = Pick<ClipRecord, 'channelId' | 'startAt' | 'endAt' | 'durationSeconds' | 'partial' | 'video' | 'thumbnail' | 'bytes' | 'sha256'> & {
  clipId: string;
  events: ClipEvent[];
  /** Checked against the file when the sidecar gives them. */
  thumbnailBytes?: number;
  thumbnailSha256?: string;
};

export interface QueuedClip {
  clipId: string;
  channelKey: string;
  events: ClipEvent[];
  /** Absolute paths of the clip's files. */
  sidecar: string;
  video: string;
  thumbnail: string;
  /** Video and thumbnail together. */
  bytes: number;
  /** The first event. */
  eventAt: number;
  /** The upload's create request (protocol/src/clips.ts), with the thumbnail's size and sha256 taken when queued. */
  upload: ClipUploadCreate;
}

interface Entry {
  clip: QueuedClip;
  attempts: number;
  retryAt: number;
}

interface ClipRow {
  clip_id: string;
  event_at: number;
  sidecar: string;
  video: string;
  thumbnail: string;
  bytes: number;
  upload: string;
}

/** The index file, in the clips folder itself so that the folder and its index move together. */
export const QUEUE_INDEX_FILE = 'queue.sqlite';
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 5 * 60_000;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS clips (
  clip_id TEXT PRIMARY KEY,
  event_at INTEGER NOT NULL,
  sidecar TEXT NOT NULL,
  video TEXT NOT NULL,
  thumbnail TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  upload TEXT NOT NULL,
  queued_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  report TEXT NOT NULL
);
`;

const uploadDecoder = decoder(ClipUploadCreateSchema);
const reportDecoder = decoder(ClipDroppedReportSchema);
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The clips waiting for upload: the files the recorders write into the clips folder, indexed in SQLite there
 * (`queue.sqlite`). A clip's row is written before `add` resolves, and removed only once the clip is uploaded or
 * given up; what is given up is kept as a `clip.dropped` report until acknowledged. Opening reconciles the index
 * with the folder, so a restart or a power cut loses nothing: a sidecar without a row is queued, a row whose files
 * are gone is dropped (and reported), and the temporaries of a write cut short are removed. Open the queue before
 * the recorders start writing into the folder.
 */
export class ClipQueue extends EventEmitter<{ changed: []; dropped: [report: ClipDroppedReport] }> {
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private droppedCount = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly db: sqlite3.Database,
    readonly dir: string,
    readonly quotaBytes: number,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {
    super();
  }

  static async open(opts: { dir: string; quotaBytes: number; log: Logger; now?: () => number }): Promise<ClipQueue> {
    if (!Number.isSafeInteger(opts.quotaBytes) || opts.quotaBytes <= 0) throw new RangeError(`quotaBytes must be a positive whole number of bytes, not ${String(opts.quotaBytes)}`);
    const dir = path.resolve(opts.dir);
    const { db } = await openSqlite(dir, QUEUE_INDEX_FILE, SCHEMA);
    const queue = new ClipQueue(db, dir, opts.quotaBytes, opts.log, opts.now ?? Date.now);
    try {
      await queue.exclusive(() => queue.reconcile());
    } catch (err) {
      await queue.closeDb();
      throw err;
    }
    return queue;
  }

  /** Queues a clip whose files are in the queue's folder; a clip id already queued is ignored. */
  add(record: ClipRecordWithEvents, files: ClipFiles): Promise<void> {
    return this.exclusive(async () => {
      if (await this.insert(record, files)) this.emit('changed');
    });
  }

  /** The clip to upload next: the oldest first event, leaving out those backing off and those in `skip`. */
  peek(skip: ReadonlySet<string> = new Set()): QueuedClip | null {
    const now = this.now();
    let best: Entry | null = null;
    for (const e of this.entries.values()) {
      if (e.retryAt > now || skip.has(e.clip.clipId)) continue;
      if (!best || e.clip.eventAt < best.clip.eventAt || (e.clip.eventAt === best.clip.eventAt && e.clip.clipId < best.clip.clipId)) best = e;
    }
    return best?.clip ?? null;
  }

  /** How long until a clip backing off (and not in `skip`) may go again: 0 when one may now, null when none waits. */
  msUntilRetry(skip: ReadonlySet<string> = new Set()): number | null {
    let soonest: number | null = null;
    for (const e of this.entries.values()) if (!skip.has(e.clip.clipId) && (soonest === null || e.retryAt < soonest)) soonest = e.retryAt;
    return soonest === null ? null : Math.max(0, soonest - this.now());
  }

  /** The clip is in the cloud: its row and files go. Unknown ids are ignored (the clip was dropped meanwhile). */
  done(clipId: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.get(clipId);
      if (!entry) return;
      // The row first: a power cut before the files go only queues the clip again, and the cloud says it has it.
      await this.run('DELETE FROM clips WHERE clip_id = ?', [clipId]);
      this.forget(entry);
      const { sidecar, video, thumbnail } = entry.clip;
      for (const file of [sidecar, video, thumbnail]) await rm(file, { force: true });
      this.emit('changed');
    });
  }

  /** The upload failed for this clip: it waits 1 s, then twice as long after each failure, up to 5 min. */
  retryLater(clipId: string, error: string): Promise<void> {
    return this.exclusive(() => {
      const entry = this.entries.get(clipId);
      if (!entry) return Promise.resolve();
      entry.attempts += 1;
      const waitMs = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (entry.attempts - 1));
      entry.retryAt = this.now() + waitMs;
      this.log.info('clip upload failed, retrying later', { clipId, error, attempts: entry.attempts, inMs: waitMs });
      return Promise.resolve();
    });
  }

  /** Gives the clip up: its files go, its report stays until acknowledged. Unknown ids are ignored. */
  drop(clipId: string, reason: ClipDropReason, message: string): Promise<void> {
    return this.exclusive(async () => {
      const entry = this.entries.get(clipId);
      if (!entry) return;
      await this.discard(entry.clip, reason, message);
      this.emit('changed');
    });
  }

  /** Reports a clip that never made it to disk (the recording failed). */
  recordFailure(report: Omit<ClipDroppedReport, 'droppedAt'>): Promise<void> {
    return this.exclusive(async () => {
      const full = { ...report, message: String(report.message).slice(0, 1024), droppedAt: this.now() };
      const checked = reportDecoder.decode(full);
      if (!checked.ok) throw new RangeError(`the clip failure report is not valid: ${checked.error}`);
      await this.run('INSERT INTO reports (report) VALUES (?)', [JSON.stringify(checked.value)]);
      this.droppedCount += 1;
      this.emit('dropped', checked.value);
    });
  }

  /** The reports not yet acknowledged, oldest first. */
  async pendingReports(): Promise<{ id: number; report: ClipDroppedReport }[]> {
    this.assertOpen();
    const rows = await this.all<{ id: number; report: string }>('SELECT id, report FROM reports ORDER BY id');
    return rows.map((r) => ({ id: r.id, report: JSON.parse(r.report) as ClipDroppedReport }));
  }

  /** The report is in the outbox: it is forgotten. */
  ackReport(id: number): Promise<void> {
    return this.exclusive(async () => {
      await this.run('DELETE FROM reports WHERE id = ?', [id]);
    });
  }

  stats(): { clips: number; bytes: number; oldestEventAt: number | null; dropped: number; quotaBytes: number } {
    let oldest: number | null = null;
    for (const e of this.entries.values()) if (oldest === null || e.clip.eventAt < oldest) oldest = e.clip.eventAt;
    return { clips: this.entries.size, bytes: this.totalBytes, oldestEventAt: oldest, dropped: this.droppedCount, quotaBytes: this.quotaBytes };
  }

  /** Waits for the changes under way, then closes the index. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.chain;
    this.closed = true;
    await this.closeDb();
  }

  // ------------------------------------------------------------------------------------------------ internals

  /** Changes run one at a time, in the order asked. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(() => {
      this.assertOpen();
      return fn();
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the clip queue is closed');
  }

  /** Checks and indexes a clip, then keeps the queue under its quota. False when the clip was queued already. */
  private async insert(record: ClipRecordWithEvents, files: ClipFiles): Promise<boolean> {
    if (typeof record?.clipId !== 'string') throw new RangeError('the clip record has no clipId');
    if (this.entries.has(record.clipId)) return false;
    const names = { sidecar: this.nameInDir(files.sidecar), video: this.nameInDir(files.video), thumbnail: this.nameInDir(files.thumbnail) };
    if (record.video !== names.video || record.thumbnail !== names.thumbnail) {
      throw new RangeError(`the files given (${names.video}, ${names.thumbnail}) are not the sidecar's (${String(record.video)}, ${String(record.thumbnail)})`);
    }
    if (!Array.isArray(record.events) || record.events.length === 0) throw new RangeError(`clip ${record.clipId} has no events`);
    const sizes = await Promise.all([files.sidecar, files.video, files.thumbnail].map((f) => stat(f).then((s) => s.size)));
    const [, videoBytes, thumbnailBytes] = sizes as [number, number, number];
    if (videoBytes !== record.bytes) throw new Error(`the video of clip ${record.clipId} is ${videoBytes} bytes, its sidecar says ${String(record.bytes)}`);
    const thumbnailSha256 = await sha256Of(files.thumbnail);
    if ((record.thumbnailBytes !== undefined && record.thumbnailBytes !== thumbnailBytes) || (record.thumbnailSha256 !== undefined && record.thumbnailSha256 !== thumbnailSha256)) {
      throw new Error(`the thumbnail of clip ${record.clipId} is not the one its sidecar describes`);
    }
    const upload = {
      clipId: record.clipId,
      channelKey: record.channelId,
      events: [...record.events].map((e) => ({ type: e.type, at: e.at })).sort((a, b) => a.at - b.at),
      startAt: record.startAt,
      endAt: record.endAt,
      durationSeconds: record.durationSeconds,
      partial: record.partial,
      video: { bytes: record.bytes, sha256: record.sha256 },
      thumbnail: { bytes: thumbnailBytes, sha256: thumbnailSha256 },
    };
    const checked = uploadDecoder.decode(upload);
    if (!checked.ok) throw new RangeError(`clip ${record.clipId} cannot be queued: ${checked.error}`);
    const clip: QueuedClip = {
      clipId: upload.clipId,
      channelKey: upload.channelKey,
      events: upload.events,
      sidecar: path.join(this.dir, names.sidecar),
      video: path.join(this.dir, names.video),
      thumbnail: path.join(this.dir, names.thumbnail),
      bytes: videoBytes + thumbnailBytes,
      eventAt: upload.events[0]!.at,
      upload: checked.value,
    };
    if (clip.bytes > this.quotaBytes) {
      await this.discard(clip, ClipDropReason.quota, `the clip (${clip.bytes} bytes) is larger than the clip queue's quota (${this.quotaBytes} bytes)`);
      return true;
    }
    await this.run('INSERT OR IGNORE INTO clips (clip_id, event_at, sidecar, video, thumbnail, bytes, upload, queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      clip.clipId,
      clip.eventAt,
      names.sidecar,
      names.video,
      names.thumbnail,
      clip.bytes,
      JSON.stringify(clip.upload),
      this.now(),
    ]);
    this.remember(clip);
    await this.enforceQuota();
    return true;
  }

  /** Drops the oldest clips (by first event) until the queue fits its quota. */
  private async enforceQuota(): Promise<void> {
    while (this.totalBytes > this.quotaBytes) {
      let oldest: Entry | null = null;
      for (const e of this.entries.values()) if (!oldest || e.clip.eventAt < oldest.clip.eventAt) oldest = e;
      if (!oldest) return;
      await this.discard(oldest.clip, ClipDropReason.quota, `the clip queue reached its quota of ${this.quotaBytes} bytes: the oldest waiting clips went first`);
    }
  }

  /**
   * Gives a clip up with a report. The sidecar goes first, so a power cut midway leaves a row without files (dropped
   * again, once, at the next open) and never a sidecar that would queue the clip again.
   */
  private async discard(clip: QueuedClip, reason: ClipDropReason, message: string): Promise<void> {
    await rm(clip.sidecar, { force: true });
    const report: ClipDroppedReport = { clipId: clip.clipId, channelKey: clip.channelKey, events: clip.events, reason, message: message.slice(0, 1024), bytes: clip.bytes, droppedAt: this.now() };
    await inTransaction(this.db, async () => {
      await this.run('DELETE FROM clips WHERE clip_id = ?', [clip.clipId]);
      await this.run('INSERT INTO reports (report) VALUES (?)', [JSON.stringify(report)]);
    });
    const entry = this.entries.get(clip.clipId);
    if (entry) this.forget(entry);
    this.droppedCount += 1;
    await rm(clip.video, { force: true });
    await rm(clip.thumbnail, { force: true });
    this.log.warn('clip dropped', { clipId: clip.clipId, channelKey: clip.channelKey, reason, message: report.message });
    this.emit('dropped', report);
  }

  private remember(clip: QueuedClip): void {
    this.entries.set(clip.clipId, { clip, attempts: 0, retryAt: 0 });
    this.totalBytes += clip.bytes;
  }

  private forget(entry: Entry): void {
    this.entries.delete(entry.clip.clipId);
    this.totalBytes -= entry.clip.bytes;
  }

  /** The file's name, when it is in the queue's folder. */
  private nameInDir(file: string): string {
    const resolved = path.resolve(String(file));
    if (path.dirname(resolved) !== this.dir) throw new RangeError(`${file} is not in the clip queue's folder ${this.dir}`);
    return path.basename(resolved);
  }

  /** Brings the index and the folder back in step after a restart (see the class comment). */
  private async reconcile(): Promise<void> {
    const names = await readdir(this.dir);
    for (const name of names) {
      // What the assembler writes before its renames: a clip cut short by a crash or a power cut.
      if (name.endsWith('.part') || (name.startsWith('.') && name.endsWith('.ffconcat'))) {
        await rm(path.join(this.dir, name), { force: true });
        this.log.info('removed a clip temporary left by an interrupted write', { file: name });
      }
    }
    const present = new Set(names);
    const rows = await this.all<ClipRow>('SELECT clip_id, event_at, sidecar, video, thumbnail, bytes, upload FROM clips ORDER BY event_at, clip_id');
    for (const row of rows) {
      const upload = JSON.parse(row.upload) as ClipUploadCreate;
      const clip: QueuedClip = {
        clipId: row.clip_id,
        channelKey: upload.channelKey,
        events: upload.events,
        sidecar: path.join(this.dir, row.sidecar),
        video: path.join(this.dir, row.video),
        thumbnail: path.join(this.dir, row.thumbnail),
        bytes: row.bytes,
        eventAt: row.event_at,
        upload,
      };
      const missing = [row.sidecar, row.video, row.thumbnail].filter((n) => !present.has(n));
      if (missing.length > 0) await this.discard(clip, ClipDropReason.recordingFailed, `the clip's files are gone from the disk (${missing.join(', ')})`);
      else this.remember(clip);
    }

    const indexed = new Set(rows.map((r) => r.sidecar));
    const found: { name: string; record: Partial<ClipRecordWithEvents> | null; error: string | null }[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.') && !indexed.has(n))) {
      try {
        found.push({ name, record: JSON.parse(await readFile(path.join(this.dir, name), 'utf8')) as Partial<ClipRecordWithEvents>, error: null });
      } catch (err) {
        found.push({ name, record: null, error: `its sidecar cannot be read: ${errorText(err)}` });
      }
    }
    const firstEvent = (r: Partial<ClipRecordWithEvents> | null): number => (Array.isArray(r?.events) ? Math.min(...r.events.map((e) => Number(e?.at))) : 0);
    found.sort((a, b) => firstEvent(a.record) - firstEvent(b.record));
    for (const { name, record, error } of found) {
      let why = error;
      if (record && !error) {
        try {
          const files = { sidecar: path.join(this.dir, name), video: path.join(this.dir, String(record.video)), thumbnail: path.join(this.dir, String(record.thumbnail)) };
          if (await this.insert(record as ClipRecordWithEvents, files)) {
            this.log.info('queued a clip found on disk without its index row', { file: name });
          } else {
            // A second copy of a queued clip's sidecar: the clip itself is not lost.
            await rm(files.sidecar, { force: true });
            this.log.warn('removed a second sidecar of a queued clip', { file: name, clipId: record.clipId });
          }
        } catch (err) {
          why = errorText(err);
        }
      }
      if (why !== null) await this.discardUnqueued(name, record, why);
    }

    // Media no queued clip names: the rest of a clip given up above, or one whose sidecar was never written.
    const queued = new Set<string>();
    for (const { clip } of this.entries.values()) for (const f of [clip.sidecar, clip.video, clip.thumbnail]) queued.add(path.basename(f));
    for (const name of await readdir(this.dir)) {
      if (queued.has(name) || name.startsWith('.') || !/\.(mp4|jpg|json)$/.test(name)) continue;
      await rm(path.join(this.dir, name), { force: true });
      this.log.warn('removed a clip file that belongs to no queued clip', { file: name });
    }
    await this.enforceQuota();
  }

  /** A sidecar found on disk that cannot be queued: reported when it says enough to be, then removed. */
  private async discardUnqueued(name: string, record: Partial<ClipRecordWithEvents> | null, why: string): Promise<void> {
    const message = `the clip found on disk as ${name} cannot be uploaded: ${why}`.slice(0, 1024);
    const checked = reportDecoder.decode({
      ...(typeof record?.clipId === 'string' ? { clipId: record.clipId } : {}),
      channelKey: record?.channelId,
      events: record?.events,
      reason: ClipDropReason.recordingFailed,
      message,
      bytes: typeof record?.bytes === 'number' ? record.bytes : 0,
      droppedAt: this.now(),
    });
    if (checked.ok) {
      await this.run('INSERT INTO reports (report) VALUES (?)', [JSON.stringify(checked.value)]);
      this.droppedCount += 1;
      this.emit('dropped', checked.value);
    }
    this.log.warn('removed a clip that cannot be uploaded', { file: name, why, reported: checked.ok });
    await rm(path.join(this.dir, name), { force: true });
  }

  private async run(sql: string, params: unknown[] = []): Promise<void> {
    await sqlRun(this.db, sql, params);
  }

  private all<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return sqlAll<T>(this.db, sql, params);
  }

  private closeDb(): Promise<void> {
    return closeSqlite(this.db);
  }
}
