import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import { mailOutbox } from '../db/schema.js';
import type { JobQueue } from '../jobs/queue.js';

export interface MailDraft {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** What the mail is: `employee.invitation`, `company.authentication.approved`, ... */
  kind: string;
}

export const MAIL_JOB = 'mail.send';

/**
 * The platform's outgoing email. A mail is a row first (inside the caller's transaction, so it goes if and only if
 * what it tells of happened), then a durable job delivers it through SMTP and retries until the server takes it.
 */
export class MailOutbox {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Queues a mail; give `tx` to queue it with the transaction's other writes. */
  async send(draft: MailDraft, tx: Pick<Db, 'insert'> = this.db): Promise<string> {
    const [row] = await tx
      .insert(mailOutbox)
      .values({ toAddress: draft.to, subject: draft.subject, text: draft.text, html: draft.html ?? null, kind: draft.kind })
      .returning({ id: mailOutbox.id });
    const id = row!.id;
    await this.jobs.schedule(`mail:${id}`, MAIL_JOB, new Date(), { id }, tx);
    this.log.debug({ id, kind: draft.kind }, 'mail queued');
    return id;
  }
}
