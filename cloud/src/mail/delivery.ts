import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { CloudConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { mailOutbox } from '../db/schema.js';
import type { JobHandler } from '../jobs/queue.js';

export const MailStatus = { queued: 'queued', sent: 'sent', failed: 'failed' } as const;

type MailRow = typeof mailOutbox.$inferSelect;

/**
 * The job that delivers one mail of the outbox: through the SMTP server of VIGIL_SMTP_URL, or, with none configured,
 * into an `.eml` file under `{dataDir}/mail` (so the platform runs without a mail server). A failure is recorded and
 * thrown, so the job queue tries again with its backoff, until the last attempt marks the mail failed.
 * Bodies hold invitation links: they are never logged.
 */
export function mailDeliveryJob(db: Db, config: Pick<CloudConfig, 'smtpUrl' | 'mailFrom' | 'mailMaxAttempts' | 'dataDir'>, log: FastifyBaseLogger): JobHandler {
  // Timeouts well under the job lock (60 s), so a hung server cannot have a second run send the mail again.
  const transport = config.smtpUrl
    ? nodemailer.createTransport({ url: config.smtpUrl, connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 30_000 })
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const folder = join(config.dataDir, 'mail');

  async function deliver(row: MailRow): Promise<void> {
    const message = { from: config.mailFrom, to: row.toAddress, subject: row.subject, text: row.text, ...(row.html === null ? {} : { html: row.html }) };
    const info = await transport.sendMail(message);
    if (config.smtpUrl) return;
    await mkdir(folder, { recursive: true });
    const path = join(folder, `${row.id}.eml`);
    await writeFile(path, (info as { message: Buffer }).message);
    log.info({ id: row.id, kind: row.kind, path }, 'mail written to a file (no VIGIL_SMTP_URL configured)');
  }

  return async (payload) => {
    const id = String(payload.id);
    const [row] = await db.select().from(mailOutbox).where(eq(mailOutbox.id, id));
    // Gone (its transaction rolled back) or already settled: nothing left to do.
    if (!row || row.status !== MailStatus.queued) return;
    const attempts = row.attempts + 1;
    try {
      await deliver(row);
    } catch (err) {
      const lastError = String(err instanceof Error ? err.message : err).slice(0, 1000);
      const failed = attempts >= config.mailMaxAttempts;
      await db.update(mailOutbox).set({ attempts, lastError, status: failed ? MailStatus.failed : MailStatus.queued }).where(eq(mailOutbox.id, id));
      if (failed) {
        log.error({ id, kind: row.kind, attempts, lastError }, 'mail not delivered: giving up');
        return;
      }
      throw err;
    }
    await db.update(mailOutbox).set({ attempts, status: MailStatus.sent, sentAt: new Date() }).where(eq(mailOutbox.id, id));
    log.info({ id, kind: row.kind }, 'mail sent');
  };
}
