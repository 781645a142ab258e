import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { CloudConfig } from '../config.js';
import type { Db } from '../db/client.js';
import { mailOutbox } from '../db/schema.js';
import { outboxDeliveryJob } from '../jobs/outbox.js';
import type { JobHandler } from '../jobs/queue.js';

type MailRow = typeof mailOutbox.$inferSelect;

/**
 * The job that delivers one mail of the outbox: through the SMTP server of VIGIL_SMTP_URL, or, with none configured,
 * into an `.eml` file under `{dataDir}/mail` (so the platform runs without a mail server); retried as every outbox is.
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

  return outboxDeliveryJob({
    load: async (id) => (await db.select().from(mailOutbox).where(eq(mailOutbox.id, id)))[0],
    record: (id, outcome) => db.update(mailOutbox).set(outcome).where(eq(mailOutbox.id, id)),
    deliver,
    maxAttempts: config.mailMaxAttempts,
    log,
    what: 'mail',
  });
}
