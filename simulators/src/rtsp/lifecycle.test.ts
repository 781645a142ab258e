import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { RtspServer } from './server.js';
import { exited, ffmpegSources, probe, startViewer, stopChild, waitFor } from './test/helpers.js';

describe('RTSP stream sources', () => {
  let server: RtspServer | undefined;
  const children: ChildProcess[] = [];
  const viewer = (url: string): ChildProcess => {
    const c = startViewer(url);
    children.push(c);
    return c;
  };

  afterEach(async () => {
    await Promise.all(children.splice(0).map(stopChild));
    await server?.stop();
    server = undefined;
    expect(await ffmpegSources()).toEqual([]);
  });

  const startServer = async (): Promise<RtspServer> => {
    server = new RtspServer({ idleStopMs: 500, restartDelayMs: 200 });
    server.addStream('/live', { width: 320, height: 240, fps: 10, bitrateKbps: 200 });
    await server.start();
    return server;
  };

  it('shares one ffmpeg source between two viewers and stops it soon after both leave', async () => {
    const s = await startServer();
    expect(await ffmpegSources()).toEqual([]);
    const a = viewer(s.url('/live'));
    const b = viewer(s.url('/live'));
    await waitFor(() => s.streams()[0]!.playing === 2, 10_000, 'two playing sessions');
    expect(await ffmpegSources()).toEqual([s.streams()[0]!.sourcePid]);
    expect(s.streams()[0]).toMatchObject({ sessions: 2, sourceRunning: true, sourceStarts: 1 });
    await stopChild(a);
    await stopChild(b);
    await waitFor(() => s.sessions() === 0, 5000, 'sessions to close');
    await waitFor(async () => (await ffmpegSources()).length === 0, 5000, 'the source to stop');
    expect(s.streams()[0]!.sourceRunning).toBe(false);
  });

  it('restarts a source that dies while viewed', async () => {
    const s = await startServer();
    viewer(s.url('/live'));
    await waitFor(() => s.streams()[0]!.playing === 1, 10_000, 'a playing session');
    const first = s.streams()[0]!.sourcePid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => s.streams()[0]!.sourceStarts === 2 && s.streams()[0]!.sourcePid !== undefined, 5000, 'a new source');
    expect(s.streams()[0]!.sourcePid).not.toBe(first);
    expect(s.sessions('/live')).toBe(1);
  });

  it('drops a stream: its viewer is cut off, new viewers are refused, and it comes back', async () => {
    const s = await startServer();
    const v = viewer(s.url('/live'));
    await waitFor(() => s.streams()[0]!.playing === 1, 10_000, 'a playing session');
    await s.dropStream('/live', 1500);
    expect(s.streams()[0]).toMatchObject({ down: true, sessions: 0, sourceRunning: false });
    await exited(v);
    const during = await probe(s.url('/live'));
    expect(during.result.stderr).toContain('503');
    await waitFor(() => !s.streams()[0]!.down, 3000, 'the stream to come back');
    const after = await probe(s.url('/live'));
    expect(after.streams.map((x) => x.codec_name)).toEqual(['h264']);
  });

  it('silences a stream without closing its sessions', async () => {
    const s = await startServer();
    viewer(s.url('/live'));
    await waitFor(() => s.streams()[0]!.playing === 1, 10_000, 'a playing session');
    await s.dropStream('/live', 60_000, 'silence');
    expect(s.streams()[0]).toMatchObject({ sessions: 1, sourceRunning: true, down: false });
  });
});
