import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { CloudConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { smsOutbox } from '../db/schema.js';
import type { JobHandler } from '../jobs/queue.js';

export const SmsStatus = { queued: 'queued', sent: 'sent', failed: 'failed' } as const;

/** Well under the job lock (60 s), so a hung gateway cannot have a second run send the message again. */
const GATEWAY_TIMEOUT_MS = 15_000;

type SmsRow = typeof smsOutbox.$inferSelect;

/**
 * The job that delivers one text message: POSTed as JSON {to, text} to VIGIL_SMS_URL (any 2xx is taken), or, with
 * no gateway configured, written as `{dataDir}/sms/<id>.json`. A failure is recorded and thrown, so the queue tries
 * again with its backoff, until the last attempt marks the message failed. Texts hold links: they are never logged.
 */
export function smsDeliveryJob(db: Db, config: Pick<CloudConfig, 'smsUrl' | 'smsMaxAttempts' | 'dataDir'>, log: FastifyBaseLogger): JobHandler {
  const folder = join(config.dataDir, 'sms');

  async function deliver(row: SmsRow): Promise<void> {
    if (config.smsUrl) {
      const res = await fetch(config.smsUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ to: row.toNumber, text: row.text }),
        signal: AbortSignal.timeout(GATEWAY_TIMEOUT_MS),
      });
      // The body is read either way, so the connection is released.
      const answer = await res.text();
      if (!res.ok) throw new Error(`SMS gateway answered ${res.status}: ${answer.slice(0, 200)}`);
      return;
    }
    await mkdir(folder, { recursive: true });
    const path = join(folder, `${row.id}.json`);
    await writeFile(path, `${JSON.stringify({ id: row.id, to: row.toNumber, text: row.text, kind: row.kind, createdAt: row.createdAt.toISOString() }, null, 2)}\n`);
    log.info({ id: row.id, kind: row.kind, path }, 'text message written to a file (no VIGIL_SMS_URL configured)');
  }

  return async (payload) => {
    const id = String(payload.id);
    const [row] = await db.select().from(smsOutbox).where(eq(smsOutbox.id, id));
    // Gone (its transaction rolled back) or already settled.
    if (!row || row.status !== SmsStatus.queued) return;
    const attempts = row.attempts + 1;
    try {
      await deliver(row);
    } catch (err) {
      const lastError = String(err instanceof Error ? err.message : err).slice(0, 1000);
      const failed = attempts >= config.smsMaxAttempts;
      await db.update(smsOutbox).set({ attempts, lastError, status: failed ? SmsStatus.failed : SmsStatus.queued }).where(eq(smsOutbox.id, id));
      if (failed) {
        log.error({ id, kind: row.kind, attempts, lastError }, 'text message not delivered: giving up');
        return;
      }
      throw err;
    }
    await db.update(smsOutbox).set({ attempts, status: SmsStatus.sent, sentAt: new Date() }).where(eq(smsOutbox.id, id));
    log.info({ id, kind: row.kind }, 'text message sent');
  };
}
