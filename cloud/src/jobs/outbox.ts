import type { FastifyBaseLogger } from 'fastify';
import type { JobHandler } from './queue.js';

const OutboxStatus = { queued: 'queued', sent: 'sent', failed: 'failed' } as const;

interface OutboxRow {
  status: string;
  attempts: number;
  kind: string;
}

/** What an attempt changes on the row. */
type OutboxOutcome = { attempts: number; status: string; lastError?: string; sentAt?: Date };

/**
 * The job that delivers one row of an outbox (mail, text messages): `load` reads the row, `record` writes an
 * attempt's outcome on it. A failure is recorded and thrown, so the job queue tries again with its backoff, until
 * the last attempt marks the row failed. `what` names the message in the log; bodies hold links: never logged.
 */
export function outboxDeliveryJob<Row extends OutboxRow>(o: {
  load: (id: string) => Promise<Row | undefined>;
  record: (id: string, outcome: OutboxOutcome) => Promise<unknown>;
  deliver: (row: Row) => Promise<void>;
  maxAttempts: number;
  log: FastifyBaseLogger;
  what: string;
}): JobHandler {
  return async (payload) => {
    const id = String(payload.id);
    const row = await o.load(id);
    // Gone (its transaction rolled back) or already settled: nothing left to do.
    if (!row || row.status !== OutboxStatus.queued) return;
    const attempts = row.attempts + 1;
    try {
      await o.deliver(row);
    } catch (err) {
      const lastError = String(err instanceof Error ? err.message : err).slice(0, 1000);
      const failed = attempts >= o.maxAttempts;
      await o.record(id, { attempts, lastError, status: failed ? OutboxStatus.failed : OutboxStatus.queued });
      if (failed) {
        o.log.error({ id, kind: row.kind, attempts, lastError }, `${o.what} not delivered: giving up`);
        return;
      }
      throw err;
    }
    await o.record(id, { attempts, status: OutboxStatus.sent, sentAt: new Date() });
    o.log.info({ id, kind: row.kind }, `${o.what} sent`);
  };
}
