import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtspServer } from './server.js';
import { RawRtspClient, waitFor } from './test/helpers.js';

describe('dynamic streams', () => {
  // A short session timeout also clears a DESCRIBE that no SETUP followed.
  const server = new RtspServer({ idleStopMs: 300, sessionTimeoutSec: 2 });
  const asked: Array<[string, string]> = [];

  beforeAll(async () => {
    server.addStream('/Streaming/tracks/live', { width: 160, height: 96, fps: 5 });
    server.addDynamicStreams('/Streaming/tracks', (path, query) => {
      asked.push([path, query.toString()]);
      if (query.get('at') === 'never') return { status: 404 };
      return { spec: { width: 160, height: 96, fps: 5, bitrateKbps: 64 }, playback: { startsAtMs: Date.UTC(2026, 0, 1), durationMs: 1500 } };
    });
    await server.start();
  });

  afterAll(() => server.stop());

  it('answers what the resolver answers, and leaves static streams to themselves', async () => {
    const c = new RawRtspClient(server.port);
    try {
      expect((await c.request('DESCRIBE', `${server.url('/Streaming/tracks/7')}?at=never`, 1)).status).toBe(404);
      expect(asked).toContainEqual(['/Streaming/tracks/7', 'at=never']);
      const live = await c.request('DESCRIBE', server.url('/Streaming/tracks/live'), 2);
      expect(live.headers.get('content-base')).toBe(`${server.url('/Streaming/tracks/live')}/`);
      expect(asked.some(([p]) => p === '/Streaming/tracks/live')).toBe(false);
    } finally {
      c.close();
    }
  });

  it('gives each DESCRIBE a source at a path of its own, which plays to its end and is gone', async () => {
    const c = new RawRtspClient(server.port);
    try {
      const uri = `${server.url('/Streaming/tracks/101')}?at=1`;
      const a = await c.request('DESCRIBE', uri, 1);
      const b = await c.request('DESCRIBE', uri, 2);
      expect(a.status).toBe(200);
      expect(a.body).toContain('a=range:npt=0-1.500');
      const base = a.headers.get('content-base')!;
      expect(base).toMatch(/\/Streaming\/tracks\/101\/[0-9a-f]{16}\/$/);
      expect(b.headers.get('content-base')).not.toBe(base);
      const setup = await c.request('SETUP', `${base}trackID=0`, 3, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      expect(setup.status).toBe(200);
      const session = setup.headers.get('session')!.split(';')[0]!;
      expect((await c.request('PLAY', base, 4, { Session: session })).status).toBe(200);
      // The first packets were kept from before PLAY: video starts right away, at the recorded start.
      await c.frames(0, 5);
      await waitFor(() => c.closed, 20_000, 'the connection to close after the playback ended');
      await waitFor(() => server.streams().every((s) => !s.path.startsWith('/Streaming/tracks/101/')), 10_000, 'the playback sources to go');
    } finally {
      c.close();
    }
  });
});
