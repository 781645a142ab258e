import type { FastifyBaseLogger } from 'fastify';
import { CustomerErrorCode, isE164 } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { smsOutbox } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import type { JobQueue } from '../jobs/queue.js';

export interface SmsDraft {
  /** E.164. */
  to: string;
  text: string;
  /** What the message is: `handover.offer`, ... */
  kind: string;
}

export const SMS_JOB = 'sms.send';

/** 400 INVALID_PHONE for a number not in E.164. */
export function requireE164(phone: string): void {
  if (!isE164(phone)) throw new AppError(400, CustomerErrorCode.invalidPhone, `${phone} is not a mobile number in E.164 form, like +447700900123.`);
}

/**
 * The platform's outgoing text messages, like its mail: a row in the caller's transaction, then a durable job
 * delivers it to the configured sink and retries until it is taken.
 */
export class SmsOutbox {
  constructor(
    private readonly db: Db,
    private readonly jobs: JobQueue,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Queues a message (400 INVALID_PHONE for a number not in E.164); give `tx` to queue it with the transaction's other writes. */
  async send(draft: SmsDraft, tx: Pick<Db, 'insert'> = this.db): Promise<string> {
    requireE164(draft.to);
    const [row] = await tx.insert(smsOutbox).values({ toNumber: draft.to, text: draft.text, kind: draft.kind }).returning({ id: smsOutbox.id });
    const id = row!.id;
    await this.jobs.schedule(`sms:${id}`, SMS_JOB, new Date(), { id }, tx);
    this.log.debug({ id, kind: draft.kind }, 'text message queued');
    return id;
  }
}
