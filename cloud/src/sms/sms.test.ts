import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs, smsOutbox } from '../db/schema.js';
import { AppError } from '../http/errors.js';
import { startTestCloud, type TestCloud } from '../testing/cloud.js';
import { smsDeliveryJob } from './delivery.js';
import { untilDefined } from '../testing/edge.js';

/** A stand-in SMS gateway: records what it is sent, answers with the status it is told to. */
class Gateway {
  received: { to: string; text: string }[] = [];
  answer = 200;
  private server: Server | null = null;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (this.answer < 300) this.received.push(JSON.parse(body) as { to: string; text: string });
        res.writeHead(this.answer, { 'content-type': 'application/json' }).end(this.answer < 300 ? '{"ok":true}' : '{"error":"busy"}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/send`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

let gateway: Gateway;
let cloud: TestCloud;
let seq = 0;
const nextNumber = () => `+4477009${String(++seq).padStart(5, '0')}`;

beforeAll(async () => {
  gateway = new Gateway();
  cloud = await startTestCloud({ VIGIL_SMS_URL: await gateway.start() });
});
afterAll(async () => {
  await cloud?.stop();
  await gateway?.stop();
});

const rowOf = async (db: TestCloud['ctx']['db'], id: string) => (await db.select().from(smsOutbox).where(eq(smsOutbox.id, id)))[0];


describe('text messages through an SMS gateway', () => {
  it('POSTs {to, text} to the gateway and marks the message sent', async () => {
    const to = nextNumber();
    const id = await cloud.ctx.sms.send({ to, text: 'Your site is waiting: https://vigil.test/handover/abc', kind: 'test.sms' });
    const row = await untilDefined('the message marked sent', async () => {
      const r = await rowOf(cloud.ctx.db, id);
      return r?.status === 'sent' ? r : undefined;
    });
    expect(row).toMatchObject({ attempts: 1, lastError: null, toNumber: to });
    expect(gateway.received.filter((m) => m.to === to)).toEqual([{ to, text: 'Your site is waiting: https://vigil.test/handover/abc' }]);
  });

  it('tries again after the gateway refuses, and the message goes once it takes it', async () => {
    gateway.answer = 503;
    try {
      const to = nextNumber();
      const id = await cloud.ctx.sms.send({ to, text: 'Retry me', kind: 'test.sms' });
      const refused = await untilDefined('the refusal recorded', async () => {
        const r = await rowOf(cloud.ctx.db, id);
        return r && r.attempts >= 1 ? r : undefined;
      });
      expect(refused.status).toBe('queued');
      expect(refused.lastError).toMatch(/503/);
      gateway.answer = 200;
      const sent = await untilDefined('the message marked sent', async () => {
        const r = await rowOf(cloud.ctx.db, id);
        return r?.status === 'sent' ? r : undefined;
      });
      expect(sent.attempts).toBeGreaterThanOrEqual(2);
      expect(gateway.received.filter((m) => m.to === to)).toHaveLength(1);
    } finally {
      gateway.answer = 200;
    }
  });

  it('marks a message failed after the last attempt, and stops trying', async () => {
    const [row] = await cloud.ctx.db.insert(smsOutbox).values({ toNumber: nextNumber(), text: 'Doomed', kind: 'test.sms' }).returning();
    const deliver = smsDeliveryJob(cloud.ctx.db, { ...cloud.ctx.config, smsMaxAttempts: 2 }, cloud.ctx.log);
    gateway.answer = 500;
    try {
      await expect(deliver({ id: row!.id })).rejects.toThrow(/500/);
      expect(await rowOf(cloud.ctx.db, row!.id)).toMatchObject({ status: 'queued', attempts: 1 });
      await expect(deliver({ id: row!.id })).resolves.toBeUndefined();
      expect(await rowOf(cloud.ctx.db, row!.id)).toMatchObject({ status: 'failed', attempts: 2, sentAt: null });
      await expect(deliver({ id: row!.id })).resolves.toBeUndefined();
      expect((await rowOf(cloud.ctx.db, row!.id))!.attempts).toBe(2);
    } finally {
      gateway.answer = 200;
    }
    expect(gateway.received.some((m) => m.text === 'Doomed')).toBe(false);
  });

  it('refuses a number not in E.164 with 400 INVALID_PHONE, and queues nothing', async () => {
    const before = (await cloud.ctx.db.select().from(smsOutbox)).length;
    for (const to of ['07700900123', '+0447700900', '+44 7700 900123', '+12345', 'phone']) {
      const err = await cloud.ctx.sms.send({ to, text: 'x', kind: 'test.sms' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect([(err as AppError).statusCode, (err as AppError).code]).toEqual([400, 'INVALID_PHONE']);
    }
    expect(await cloud.ctx.db.select().from(smsOutbox)).toHaveLength(before);
  });

  it('sends nothing for a message whose transaction rolled back', async () => {
    const to = nextNumber();
    let id = '';
    await expect(
      cloud.ctx.db.transaction(async (tx) => {
        id = await cloud.ctx.sms.send({ to, text: 'never', kind: 'test.sms' }, tx);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await rowOf(cloud.ctx.db, id)).toBeUndefined();
    expect(await cloud.ctx.db.select().from(jobs).where(eq(jobs.key, `sms:${id}`))).toEqual([]);
    const later = nextNumber();
    const laterId = await cloud.ctx.sms.send({ to: later, text: 'later', kind: 'test.sms' });
    await untilDefined('the later message sent', async () => ((await rowOf(cloud.ctx.db, laterId))?.status === 'sent' ? true : undefined));
    expect(gateway.received.some((m) => m.to === to)).toBe(false);
  });
});

describe('text messages without a gateway', () => {
  let local: TestCloud;
  beforeAll(async () => {
    local = await startTestCloud();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('writes each message as a JSON file in the data folder and marks it sent', async () => {
    const to = nextNumber();
    const id = await local.ctx.sms.send({ to, text: 'Hello from the file sink', kind: 'test.sms' });
    await untilDefined('the message marked sent', async () => ((await rowOf(local.ctx.db, id))?.status === 'sent' ? true : undefined));
    const path = join(local.ctx.config.dataDir, 'sms', `${id}.json`);
    expect(existsSync(path)).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ id, to, text: 'Hello from the file sink', kind: 'test.sms' });
  });
});
