import { decodeMessage, encodeEnvelope, envelope, topics } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { Store } from './store.js';
import { startBroker } from './test/broker.js';
import { SERIAL, quietLog, tempDir } from './test/util.js';
import { Uplink } from './uplink.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const stateTopic = (i: number): string => topics.deviceState(SERIAL, `cam-${i}`);

describe('outbox over MQTT', () => {
  it('redelivers, in order, what the broker did not acknowledge, and survives a store restart', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.remove);

    // Written while the edge is offline; the store is closed and reopened before sending.
    const before = await Store.open(tmp.dir);
    await before.setCredentials({ edgeId: SERIAL, username: `edge:${SERIAL}`, password: 'x'.repeat(20) });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const env = envelope('deviceState', { deviceId: `cam-${i}`, online: i % 2 === 0, at: Date.now() });
      ids.push(env.id);
      await before.enqueue(stateTopic(i), encodeEnvelope(env));
    }
    await before.close();
    const store = await Store.open(tmp.dir);
    cleanups.push(() => store.close());

    // The broker cuts the connection on the first copy of message 2, before any PUBACK for it.
    let cut = false;
    const cloud = await startBroker({
      authorizePublish: (_client, packet, done) => {
        if (!cut && packet.topic === stateTopic(2)) {
          cut = true;
          done(new Error('connection lost'));
          return;
        }
        done(null);
      },
    });
    cleanups.push(() => cloud.close());

    const uplink = new Uplink({
      serial: SERIAL,
      verificationCode: 'ABC123',
      mqttUrl: cloud.url,
      store,
      log: quietLog,
      agentVersion: 'test',
      startedAt: Date.now(),
      heartbeatSec: 60,
      outboxWindow: 4,
      backoff: { initialMs: 10, maxMs: 50 },
      heartbeat: () => Promise.resolve({ uptimeSec: 0, rssBytes: 0, outboxDepth: 0, devicesOnline: 0, devicesTotal: 0 }),
      inventory: () => Promise.resolve({ devices: [] }),
    });
    cleanups.push(() => uplink.stop('shutdown'));
    const reconnected = new Promise<void>((resolve) => {
      let n = 0;
      uplink.on('connected', () => {
        if (++n === 2) resolve();
      });
    });
    uplink.start();
    await reconnected;
    await cloud.waitFor((m) => m.topic === stateTopic(5) && m.conn === 2);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        store
          .outboxDepth()
          .then((n) => (n === 0 ? resolve() : undefined))
          .catch(() => undefined);
      };
      uplink.outbox.on('drained', check);
      check();
    });

    const states = cloud.received.filter((m) => m.topic.includes('/device/'));
    const idOf = (m: (typeof states)[number]): string => {
      const d = decodeMessage(m.topic, m.payload);
      if (!d.ok) throw new Error(d.error);
      return d.value.envelope.id;
    };
    // Each connection delivers in outbox order; together they deliver everything, message 2 included.
    for (const conn of [1, 2]) {
      const order = states.filter((m) => m.conn === conn).map((m) => ids.indexOf(idOf(m)));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    expect(new Set(states.map(idOf))).toEqual(new Set(ids));
    expect(states.filter((m) => m.conn === 2).map(idOf)).toContain(ids[2]);
    expect(states.every((m) => m.qos === 1)).toBe(true);
    expect(await store.outboxDepth()).toBe(0);
  });
});
