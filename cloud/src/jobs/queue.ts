import { and, asc, eq, lte, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import { jobs } from '../db/schema.js';

/** Runs a job; what it returns, if anything, runs once the job is gone from the table (e.g. to start the next one). */
export type JobHandler = (payload: Record<string, unknown>) => Promise<void | (() => Promise<void>)>;

const LOCK_SEC = 60;
const BATCH = 50;
const MAX_BACKOFF_SEC = 300;
/** Jobs of a batch run this many at a time: one slow job (a receiver that does not answer) holds up no other. */
const CONCURRENCY = 8;

/** Thrown by a handler whose job must wait for another (e.g. an earlier event of the same panel): tried again soon, not counted as a failure. */
export class JobDeferred extends Error {
  constructor(
    reason: string,
    readonly retryInMs: number,
  ) {
    super(reason);
  }
}

/**
 * Durable timers kept in PostgreSQL: a job runs once at its time even if the cloud restarted in between,
 * and `FOR UPDATE SKIP LOCKED` lets several cloud nodes share the table. Scheduling by key replaces the
 * previous timer of the same key, so "declare edge X offline at T" is idempotent.
 */
export class JobQueue {
  private readonly handlers = new Map<string, JobHandler>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private running: Promise<void> | null = null;
  /** A job fell due while a pass was running: another pass follows at once rather than at the next poll. */
  private again = false;
  private stopped = true;

  constructor(
    private readonly db: Db,
    private readonly log: FastifyBaseLogger,
    private readonly pollMs: number,
  ) {}

  handle(kind: string, handler: JobHandler): void {
    this.handlers.set(kind, handler);
  }

  /** Give `tx` to schedule the job with a transaction's other writes (it then runs only if they commit). */
  async schedule(key: string, kind: string, runAt: Date, payload: Record<string, unknown> = {}, tx: Pick<Db, 'insert'> = this.db): Promise<void> {
    await tx
      .insert(jobs)
      .values({ key, kind, runAt, payload })
      .onConflictDoUpdate({ target: jobs.key, set: { kind, runAt, payload, attempts: 0, lockedUntil: null, lastError: null } });
    this.wakeAt(runAt);
  }

  /** Makes a waiting job due now, unless it is running. */
  async runNow(key: string): Promise<void> {
    const hurried = await this.db
      .update(jobs)
      .set({ runAt: new Date() })
      .where(and(eq(jobs.key, key), sql`(${jobs.lockedUntil} IS NULL OR ${jobs.lockedUntil} < now())`))
      .returning({ id: jobs.id });
    if (hurried.length > 0) this.wakeAt(new Date());
  }

  async cancel(key: string): Promise<void> {
    await this.db.delete(jobs).where(eq(jobs.key, key));
  }

  start(): void {
    this.stopped = false;
    this.wakeAt(new Date());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs every due job now (also what the timer calls). */
  async runDue(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.drain();
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private wakeAt(at: Date): void {
    if (this.stopped) return;
    const delay = Math.max(0, Math.min(at.getTime() - Date.now(), this.pollMs));
    // An earlier wake-up already set stays.
    if (this.timer && this.timerAt <= Date.now() + delay) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.runDue()
        .catch((err: unknown) => this.log.error({ err }, 'job run failed'))
        .finally(() => this.wakeAt(new Date(Date.now() + this.pollMs)));
    }, delay);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    for (;;) {
      const batch = await this.claimBatch();
      // In due order, CONCURRENCY at a time: a handler that needs an order among its jobs defers the later ones.
      let next = 0;
      const worker = async () => {
        while (next < batch.length) await this.runOne(batch[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, batch.length) }, worker));
      if (batch.length < BATCH || this.stopped) return;
    }
  }

  private claimBatch() {
    return this.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: jobs.id, key: jobs.key, kind: jobs.kind, payload: jobs.payload, attempts: jobs.attempts })
        .from(jobs)
        .where(and(lte(jobs.runAt, sql`now()`), sql`(${jobs.lockedUntil} IS NULL OR ${jobs.lockedUntil} < now())`))
        .orderBy(asc(jobs.runAt))
        .limit(BATCH)
        .for('update', { skipLocked: true });
      if (due.length === 0) return [];
      const lockedUntil = new Date(Date.now() + LOCK_SEC * 1000);
      await tx
        .update(jobs)
        .set({ lockedUntil })
        .where(sql`${jobs.id} IN (${sql.join(due.map((d) => sql`${d.id}`), sql`, `)})`);
      return due.map((d) => ({ ...d, lockedUntil }));
    });
  }

  private async runOne(job: { id: number; kind: string; payload: unknown; attempts: number; lockedUntil: Date }) {
    const handler = this.handlers.get(job.kind);
    // Only the run that holds the lock may finish the row: a job rescheduled meanwhile is left alone.
    const stillMine = and(eq(jobs.id, job.id), eq(jobs.lockedUntil, job.lockedUntil));
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      const then = await handler(job.payload as Record<string, unknown>);
      await this.db.delete(jobs).where(stillMine);
      if (then) await then().catch((err: unknown) => this.log.warn({ err, job: job.kind }, 'follow-up of a finished job failed'));
    } catch (err) {
      if (err instanceof JobDeferred) {
        await this.db
          .update(jobs)
          .set({ lockedUntil: null, runAt: new Date(Date.now() + err.retryInMs) })
          .where(stillMine);
        this.wakeAt(new Date(Date.now() + err.retryInMs));
        return;
      }
      const backoff = Math.min(MAX_BACKOFF_SEC, 2 ** job.attempts);
      this.log.warn({ err, job: job.kind }, 'job failed; will retry');
      await this.db
        .update(jobs)
        .set({
          attempts: job.attempts + 1,
          lockedUntil: null,
          runAt: new Date(Date.now() + backoff * 1000),
          lastError: String(err instanceof Error ? err.message : err).slice(0, 1000),
        })
        .where(stillMine);
    }
  }
}
