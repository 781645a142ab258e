import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { CloudConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { smsOutbox } from '../db/schema.js';
import { outboxDeliveryJob } from '../jobs/outbox.js';
import type { JobHandler } from '../jobs/queue.js';

/** Well under the job lock (60 s), so a hung gateway cannot have a second run send the message again. */
const GATEWAY_TIMEOUT_MS = 15_000;

type SmsRow = typeof smsOutbox.$inferSelect;

/**
 * The job that delivers one text message: POSTed as JSON {to, text} to VIGIL_SMS_URL (any 2xx is taken), or, with
 * no gateway configured, written as `{dataDir}/sms/<id>.json`; retried as every outbox is. Texts hold links: never logged.
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

  return outboxDeliveryJob({
    load: async (id) => (await db.select().from(smsOutbox).where(eq(smsOutbox.id, id)))[0],
    record: (id, outcome) => db.update(smsOutbox).set(outcome).where(eq(smsOutbox.id, id)),
    deliver,
    maxAttempts: config.smsMaxAttempts,
    log,
    what: 'text message',
  });
}
