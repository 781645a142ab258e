import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.js';
import { tempDir } from './test/util.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Store', () => {
  it('keeps outbox rows in order across a close and reopen, and deletes only what it is told', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const a = await Store.open(tmp.dir);
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) seqs.push(await a.enqueue(`t/${i}`, Buffer.from(`m${i}`)));
    await a.deleteOutbox(seqs[1] as number);
    await a.close();

    const b = await Store.open(tmp.dir);
    cleanups.push(() => b.close());
    const rows = await b.outboxAfter(0, 100);
    expect(rows.map((r) => r.payload.toString())).toEqual(['m0', 'm2', 'm3', 'm4']);
    expect(rows.map((r) => r.seq)).toEqual([seqs[0], seqs[2], seqs[3], seqs[4]]);
    expect(await b.outboxDepth()).toBe(4);
    // New rows come after the old ones even after a restart.
    const next = await b.enqueue('t/5', Buffer.from('m5'));
    expect(next).toBeGreaterThan(seqs[4] as number);
    expect((await b.outboxAfter(seqs[3] as number, 10)).map((r) => r.payload.toString())).toEqual(['m4', 'm5']);
  });

  it('replaces pending rows of a snapshot topic', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const s = await Store.open(tmp.dir);
    cleanups.push(() => s.close());
    await s.enqueue('inv', Buffer.from('old'), { replaceSameTopic: true });
    await s.enqueue('state', Buffer.from('s1'));
    await s.enqueue('inv', Buffer.from('new'), { replaceSameTopic: true });
    expect((await s.outboxAfter(0, 10)).map((r) => r.payload.toString())).toEqual(['s1', 'new']);
  });

  it('stores, reads and deletes credentials, and keeps devices', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);
    const s = await Store.open(tmp.dir);
    expect(await s.getCredentials()).toBeNull();
    await s.setCredentials({ edgeId: 'E1X', username: 'edge:E1X', password: 'p'.repeat(20) });
    await s.saveDevices([
      {
        deviceId: 'cam-1',
        kind: 'camera',
        protocol: 'onvif',
        manufacturer: 'M',
        model: 'X',
        serial: 'S1',
        firmware: '1',
        name: 'Door',
        host: '127.0.0.1',
        port: 8000,
        online: false,
        lastSeenAt: 1,
      },
    ]);
    await s.close();
    const r = await Store.open(tmp.dir);
    cleanups.push(() => r.close());
    expect(await r.getCredentials()).toEqual({ edgeId: 'E1X', username: 'edge:E1X', password: 'p'.repeat(20) });
    expect((await r.listDevices()).map((d) => [d.deviceId, d.online])).toEqual([['cam-1', false]]);
    await r.deleteCredentials();
    expect(await r.getCredentials()).toBeNull();
  });
});
