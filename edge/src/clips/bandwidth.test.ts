import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { runBandwidthTest, TokenBucket } from './bandwidth.js';
import { UploadTestServer } from './test/upload-server.js';

const SERIAL = 'VGTEST0001';
const SECRET = 'the-mqtt-secret';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<UploadTestServer> {
  const s = await UploadTestServer.start({ serial: SERIAL, secret: SECRET });
  cleanups.push(() => s.close());
  return s;
}

describe('the token bucket', () => {
  it('lets bytes through no faster than its limit, shared by all who take from it', async () => {
    const bucket = new TokenBucket(400);
    expect(bucket.limitKbps).toBe(400);
    const started = performance.now();
    // Two senders of 50 kB each through one 50 kB/s bucket: 100 kB takes 2 s at least.
    const sender = async (): Promise<void> => {
      for (let sent = 0; sent < 50_000; sent += bucket.pieceBytes) await bucket.take(bucket.pieceBytes);
    };
    await Promise.all([sender(), sender()]);
    expect((performance.now() - started) / 1000).toBeGreaterThanOrEqual(1.9);
  });

  it('stops a wait on abort, and takes no limit and bad limits as they should', async () => {
    const bucket = new TokenBucket(64);
    const abort = new AbortController();
    const waiting = bucket.take(100_000, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toThrow(/abort/i);
    bucket.setLimit(null);
    expect(bucket.limitKbps).toBeNull();
    await bucket.take(100_000_000);
    expect(() => bucket.setLimit(0)).toThrow(RangeError);
    expect(() => bucket.setLimit(Number.NaN)).toThrow(RangeError);
    expect(bucket.limitKbps).toBeNull();
  });
});

describe('the uplink bandwidth test', () => {
  it('measures a positive rate from what the cloud received', async () => {
    const s = await server();
    const result = await runBandwidthTest({ uploadUrl: s.url, serial: SERIAL, secret: SECRET, seconds: 1 });
    if (!result.ok) throw new Error(result.message);
    expect(result.uploadKbps).toBeGreaterThan(0);
    // Requests one after the other: the result is the sum of what the cloud saw.
    expect(s.probes.length).toBeGreaterThan(0);
    expect(result.bytes).toBe(s.probes.reduce((sum, p) => sum + p.bytes, 0));
    expect(result.ms).toBe(s.probes.reduce((sum, p) => sum + p.ms, 0));
    expect(result.uploadKbps).toBe(Math.round((result.bytes * 8) / result.ms));
  });

  it('measures no more than a slow uplink carries', async () => {
    const s = await server();
    s.slow(200_000);
    const result = await runBandwidthTest({ uploadUrl: s.url, serial: SERIAL, secret: SECRET, seconds: 2 });
    if (!result.ok) throw new Error(result.message);
    expect(result.uploadKbps).toBeGreaterThan(0);
    // 200 kB/s is 1600 kbps; the first chunk read before the server slows down adds a little.
    expect(result.uploadKbps).toBeLessThanOrEqual(1600 * 1.5);
  });

  it('says why when the cloud is down, refuses the login, or the input is wrong', async () => {
    const s = await server();
    const wrongLogin = await runBandwidthTest({ uploadUrl: s.url, serial: SERIAL, secret: 'wrong', seconds: 1 });
    expect(wrongLogin).toEqual({ ok: false, message: expect.stringMatching(/401/) });
    const gone = await server();
    await gone.down();
    const down = await runBandwidthTest({ uploadUrl: gone.url, serial: SERIAL, secret: SECRET, seconds: 1 });
    expect(down).toEqual({ ok: false, message: expect.stringMatching(/ECONNREFUSED/) });
    expect(await runBandwidthTest({ uploadUrl: 'ftp://127.0.0.1/x', serial: SERIAL, secret: SECRET, seconds: 1 })).toMatchObject({ ok: false, message: expect.stringMatching(/http or https/) });
    expect(await runBandwidthTest({ uploadUrl: s.url, serial: SERIAL, secret: SECRET, seconds: 0 })).toMatchObject({ ok: false, message: expect.stringMatching(/1 to 30/) });
  });
});
