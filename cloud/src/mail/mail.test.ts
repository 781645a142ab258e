import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailCatcher } from '@vigil/simulators';
import { jobs, mailOutbox } from '../db/schema.js';
import { loadConfig } from '../config.js';
import { startCloud } from '../server.js';
import { freshDatabase, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { mailDeliveryJob } from './delivery.js';
import type { MailDraft } from './outbox.js';
import { untilDefined } from '../testing/edge.js';

let catcher: MailCatcher;
let cloud: TestCloud;
let seq = 0;

beforeAll(async () => {
  catcher = new MailCatcher();
  const { url } = await catcher.start();
  cloud = await startTestCloud({ VIGIL_SMTP_URL: url, VIGIL_MAIL_FROM: 'Vigil Test <no-reply@vigil.test>' });
});
afterAll(async () => {
  await cloud?.stop();
  await catcher?.stop();
});

const draft = (over: Partial<MailDraft> = {}): MailDraft => {
  const n = ++seq;
  return { to: `person${n}@example.test`, subject: `Subject ${n}`, text: `Text ${n}: https://vigil.test/invitation/secret${n}`, kind: 'test.mail', ...over };
};
const rowOf = async (db: TestCloud['ctx']['db'], id: string) => (await db.select().from(mailOutbox).where(eq(mailOutbox.id, id)))[0];


describe('mail through SMTP', () => {
  it('delivers a queued mail to the SMTP server, with the configured sender', async () => {
    const d = draft({ html: '<p>Hello <b>there</b></p>' });
    const id = await cloud.ctx.mail.send(d);
    const mail = await catcher.waitFor((m) => m.subject === d.subject);
    expect(mail).toMatchObject({ to: d.to, from: 'no-reply@vigil.test', html: '<p>Hello <b>there</b></p>' });
    expect(mail.text.trim()).toBe(d.text);
    const row = await untilDefined('the mail marked sent', async () => {
      const r = await rowOf(cloud.ctx.db, id);
      return r?.status === 'sent' ? r : undefined;
    });
    expect(row).toMatchObject({ attempts: 1, lastError: null });
    expect(row.sentAt).toBeInstanceOf(Date);
  });

  it('tries again after a temporary refusal, and the mail arrives once the server takes it', async () => {
    catcher.refuse(451, 'Mailbox busy');
    try {
      const d = draft();
      const id = await cloud.ctx.mail.send(d);
      const refused = await untilDefined('the refusal recorded', async () => {
        const r = await rowOf(cloud.ctx.db, id);
        return r && r.attempts >= 1 ? r : undefined;
      });
      expect(refused.status).toBe('queued');
      expect(refused.lastError).toMatch(/451|Mailbox busy/);
      expect(catcher.messages.some((m) => m.subject === d.subject)).toBe(false);
      catcher.accept();
      await catcher.waitFor((m) => m.subject === d.subject, 15_000);
      const sent = await untilDefined('the mail marked sent', async () => {
        const r = await rowOf(cloud.ctx.db, id);
        return r?.status === 'sent' ? r : undefined;
      });
      expect(sent.attempts).toBeGreaterThanOrEqual(2);
      expect(catcher.messages.filter((m) => m.subject === d.subject)).toHaveLength(1);
    } finally {
      catcher.accept();
    }
  });

  it('sends nothing for a mail whose transaction rolled back', async () => {
    const d = draft();
    let id = '';
    await expect(
      cloud.ctx.db.transaction(async (tx) => {
        id = await cloud.ctx.mail.send(d, tx);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await rowOf(cloud.ctx.db, id)).toBeUndefined();
    expect(await cloud.ctx.db.select().from(jobs).where(eq(jobs.key, `mail:${id}`))).toEqual([]);
    // A job for a row that is not there ends without error.
    const deliver = mailDeliveryJob(cloud.ctx.db, { ...cloud.ctx.config }, cloud.ctx.log);
    await expect(deliver({ id })).resolves.toBeUndefined();
    // Later mails still go, and the rolled-back one never did.
    const later = draft();
    await cloud.ctx.mail.send(later);
    await catcher.waitFor((m) => m.subject === later.subject);
    expect(catcher.messages.some((m) => m.subject === d.subject)).toBe(false);
  });

  it('marks a mail failed after the last attempt, and stops trying', async () => {
    // A row with no job: the handler is run by hand, against the refusing server.
    const [row] = await cloud.ctx.db.insert(mailOutbox).values({ toAddress: 'nobody@example.test', subject: 'Doomed', text: 'x', kind: 'test.mail' }).returning();
    const deliver = mailDeliveryJob(cloud.ctx.db, { ...cloud.ctx.config, mailMaxAttempts: 2 }, cloud.ctx.log);
    catcher.refuse(452, 'Out of space');
    try {
      await expect(deliver({ id: row!.id })).rejects.toThrow();
      expect(await rowOf(cloud.ctx.db, row!.id)).toMatchObject({ status: 'queued', attempts: 1 });
      await expect(deliver({ id: row!.id })).resolves.toBeUndefined();
      const failed = await rowOf(cloud.ctx.db, row!.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 2, sentAt: null });
      expect(failed!.lastError).toMatch(/452|Out of space/);
      // Settled: a further run changes nothing.
      await expect(deliver({ id: row!.id })).resolves.toBeUndefined();
      expect((await rowOf(cloud.ctx.db, row!.id))!.attempts).toBe(2);
    } finally {
      catcher.accept();
    }
    expect(catcher.messages.some((m) => m.subject === 'Doomed')).toBe(false);
  });
});

describe('mail without an SMTP server', () => {
  let local: TestCloud;
  beforeAll(async () => {
    local = await startTestCloud();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('writes the mail as an .eml file in the data folder and marks it sent', async () => {
    const d = draft();
    const id = await local.ctx.mail.send(d);
    await untilDefined('the mail marked sent', async () => ((await rowOf(local.ctx.db, id))?.status === 'sent' ? true : undefined));
    const path = join(local.ctx.config.dataDir, 'mail', `${id}.eml`);
    expect(existsSync(path)).toBe(true);
    const eml = readFileSync(path, 'utf8');
    expect(eml).toContain(`Subject: ${d.subject}`);
    expect(eml).toContain(`To: ${d.to}`);
    expect(eml).toContain('From: Vigil <no-reply@localhost>');
    expect(eml).toContain(d.text);
  });
});

describe('mail across a restart', () => {
  it('sends a mail still queued when the cloud stopped once it runs again', async () => {
    const database = await freshDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'vigil-mail-'));
    const config = loadConfig({
      DATABASE_URL: database.url,
      VIGIL_HTTP_PORT: '0',
      VIGIL_DATA_DIR: dataDir,
      VIGIL_JOB_POLL_MS: '50',
      VIGIL_LOG_LEVEL: 'silent',
      VIGIL_SMTP_URL: cloud.ctx.config.smtpUrl!,
    });
    try {
      const first = await startCloud(config);
      catcher.refuse();
      const d = draft();
      let id: string;
      try {
        id = await first.ctx.mail.send(d);
        await untilDefined('the refusal recorded', async () => ((await rowOf(first.ctx.db, id))?.attempts ?? 0) >= 1 ? true : undefined);
      } finally {
        await first.close();
        catcher.accept();
      }
      const second = await startCloud(config);
      try {
        await catcher.waitFor((m) => m.subject === d.subject, 15_000);
        await untilDefined('the mail marked sent', async () => ((await rowOf(second.ctx.db, id))?.status === 'sent' ? true : undefined));
      } finally {
        await second.close();
      }
    } finally {
      catcher.accept();
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
