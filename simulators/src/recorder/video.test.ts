import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_ACCESSES_PATH,
  CONTENT_SEARCH_PATH,
  DigestClient,
  IsapiPath,
  STREAM_ENCRYPTION_HEADER,
  SearchStatus,
  buildContentSearch,
  buildDigestAuthorization,
  buildNewInputProxyChannel,
  parseAdminAccesses,
  parseContentSearchResult,
  parseDigestChallenge,
  playbackTime,
  rtspPortOf,
  streamKeyFor,
  type ContentSearch,
  type SearchMatch,
} from '@vigil/protocol';
import { DeviceHost } from '../devices/host.js';
import type { SimDevice, SimDeviceOptions } from '../devices/sim-device.js';
import { ffmpegSources, probe, RawRtspClient, run, waitFor } from '../rtsp/test/helpers.js';
import { SEGMENT_MS } from './recordings.js';

const PW = 'Abcd1234!';
const account = { username: 'admin', password: PW };
const small = { main: { width: 320, height: 180, fps: 10, bitrateKbps: 200 }, sub: { width: 192, height: 108, fps: 5, bitrateKbps: 64 } };

async function startDevice(options: Partial<SimDeviceOptions> & Pick<SimDeviceOptions, 'class'>): Promise<{ host: DeviceHost; device: SimDevice }> {
  const host = new DeviceHost({
    sadpPort: 0,
    wsdPort: 0,
    multicast: false,
    devices: [{ activated: true, password: PW, channelStreams: small, recordingHours: 6, recordingGaps: [{ from: -60, to: -40 }], ...options }],
  });
  await host.start();
  return { host, device: host.devices[0]! };
}

const http = (d: SimDevice) => `http://127.0.0.1:${d.endpoints.httpPort}`;
const rtsp = (d: SimDevice, path: string, auth = account) =>
  `rtsp://${encodeURIComponent(auth.username)}:${encodeURIComponent(auth.password)}@127.0.0.1:${d.endpoints.rtspPort}${path}`;
/** A client per request: requests made at the same time must not share a nonce count. */
const isapi = { fetch: (url: string, init?: RequestInit) => new DigestClient('admin', PW).fetch(url, init) };

async function search(d: SimDevice, q: Partial<ContentSearch> & Pick<ContentSearch, 'timeSpans'>) {
  const res = await isapi.fetch(`${http(d)}${CONTENT_SEARCH_PATH}`, {
    method: 'POST',
    body: buildContentSearch({ searchId: 'C7E1B9C5-0D1A-4F3B-9E55-2B8E0A3C1D11', trackIds: [101], maxResults: 50, searchResultPosition: 0, ...q }),
  });
  const text = await res.text();
  const parsed = parseContentSearchResult(text);
  return { http: res.status, text, result: parsed.ok ? parsed.value : undefined };
}

/** DESCRIBE with Digest credentials, on a bare connection: the status and headers as the server sent them. */
async function describeStatus(port: number, uri: string): Promise<{ status: number; headers: Map<string, string> }> {
  const c = new RawRtspClient(port);
  try {
    const first = await c.request('DESCRIBE', uri, 1);
    if (first.status !== 401) return first;
    const challenge = parseDigestChallenge(first.headers.get('www-authenticate') ?? '');
    if (!challenge.ok) throw new Error(challenge.error);
    const authorization = buildDigestAuthorization({ challenge: challenge.value, ...account, method: 'DESCRIBE', uri });
    return await c.request('DESCRIBE', uri, 2, { Authorization: authorization });
  } finally {
    c.close();
  }
}

// Every source (live or playback) ends with its device.
afterAll(async () => {
  await waitFor(async () => (await ffmpegSources()).length === 0, 10_000, 'every ffmpeg source to end');
});

const playbacks = (d: SimDevice) => d.videoStreams().filter((s) => s.path.startsWith('/Streaming/tracks/'));

describe.concurrent('a DVR with live channels, recordings and playback', () => {
  let host: DeviceHost;
  let dvr: SimDevice;
  let dir = '';

  beforeAll(async () => {
    ({ host, device: dvr } = await startDevice({ class: 'dvr', analogChannels: 2 }));
    dir = await mkdtemp(join(tmpdir(), 'vigil-recorder-'));
  });

  afterAll(async () => {
    await host.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports its HTTP and RTSP ports in adminAccesses', async () => {
    const res = await isapi.fetch(`${http(dvr)}${ADMIN_ACCESSES_PATH}`);
    expect(res.status).toBe(200);
    const list = parseAdminAccesses(await res.text());
    expect(list.ok).toBe(true);
    if (!list.ok) return;
    expect(rtspPortOf(list.value)).toBe(dvr.endpoints.rtspPort);
    expect(dvr.endpoints.rtspPort).toBeGreaterThan(0);
    expect(list.value).toContainEqual({ protocol: 'HTTP', port: dvr.endpoints.httpPort, enabled: true });
  });

  it('serves each analog channel as main and sub stream, and nothing for a channel it lacks', async () => {
    const main = await probe(rtsp(dvr, '/Streaming/Channels/101'));
    expect(main.result.stderr).toBe('');
    expect(main.streams).toEqual([expect.objectContaining({ codec_name: 'h264', width: 320, height: 180 })]);
    const sub = await probe(rtsp(dvr, '/Streaming/Channels/202'));
    expect(sub.streams).toEqual([expect.objectContaining({ codec_name: 'h264', width: 192, height: 108 })]);
    const none = await probe(rtsp(dvr, '/Streaming/Channels/301'));
    expect(none.result.stderr).toContain('404');
  });

  it('pages a search with MORE until OK, then NO MATCHES, with the gap left out', async () => {
    const now = Date.now();
    const span = { start: now - 2 * 3_600_000, end: now };
    const all: SearchMatch[] = [];
    const statuses: string[] = [];
    for (let position = 0; ; ) {
      const page = await search(dvr, { timeSpans: [span], maxResults: 5, searchResultPosition: position });
      expect(page.http, page.text).toBe(200);
      statuses.push(page.result!.status);
      all.push(...page.result!.matches);
      position += page.result!.matches.length;
      if (page.result!.status !== SearchStatus.more) break;
    }
    expect(statuses.slice(0, -1).every((s) => s === 'MORE')).toBe(true);
    expect(statuses.at(-1)).toBe('OK');
    // 2 h of 10-minute segments, the 20-minute gap taking two or three away and splitting others.
    expect(all.length).toBeGreaterThanOrEqual(10);
    expect(all.length).toBeLessThanOrEqual(13);
    const after = await search(dvr, { timeSpans: [span], maxResults: 5, searchResultPosition: all.length });
    expect(after.result).toMatchObject({ status: 'NO MATCHES', matches: [] });
    expect(after.text).toContain('<responseStatus>false</responseStatus>');
    // Oldest first, no overlap, one hole of 20 minutes.
    const holes = all.slice(1).map((m, i) => m.start - all[i]!.end).filter((d) => d !== 0);
    expect(holes).toEqual([20 * 60_000]);
    expect(all.every((m) => m.end - m.start <= SEGMENT_MS && m.trackId === 101)).toBe(true);
    expect(all.some((m) => m.recordType === 'motion')).toBe(true);
    expect(all[0]!.playbackUri).toBe(
      `rtsp://127.0.0.1:${dvr.endpoints.rtspPort}/Streaming/tracks/101/?starttime=${playbackTime(all[0]!.start)}&endtime=${playbackTime(all[0]!.end)}`,
    );
    const motionOnly = await search(dvr, { timeSpans: [span], recordTypes: ['motion'] });
    expect(motionOnly.result!.matches.map((m) => m.start)).toEqual(all.filter((m) => m.recordType === 'motion').map((m) => m.start));
  });

  it('finds nothing in the gap, on a channel it lacks, or before its recordings; refuses a bad search', async () => {
    const now = Date.now();
    const gap = await search(dvr, { timeSpans: [{ start: now - 55 * 60_000, end: now - 45 * 60_000 }] });
    expect(gap.result?.status, gap.text).toBe('NO MATCHES');
    expect((await search(dvr, { trackIds: [301], timeSpans: [{ start: now - 3_600_000, end: now }] })).result!.status).toBe('NO MATCHES');
    expect((await search(dvr, { timeSpans: [{ start: now - 9 * 3_600_000, end: now - 7 * 3_600_000 }] })).result!.status).toBe('NO MATCHES');
    const bad = await isapi.fetch(`${http(dvr)}${CONTENT_SEARCH_PATH}`, { method: 'POST', body: '<CMSearchDescription><searchID>x</searchID></CMSearchDescription>' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('trackIDList');
  });

  it('plays back from a time until endtime, then ends the stream cleanly', async () => {
    const start = Math.floor((Date.now() - 30 * 60_000) / 1000) * 1000;
    const file = join(dir, 'playback.mp4');
    const url = rtsp(dvr, `/Streaming/tracks/101?starttime=${playbackTime(start)}&endtime=${playbackTime(start + 3000)}`);
    const pulled = await run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-c', 'copy', '-y', file], 25_000);
    expect(pulled.code, pulled.stderr).toBe(0);
    const probed = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration:stream=width,height', '-of', 'json', file]);
    const info = JSON.parse(probed.stdout) as { format: { duration: string }; streams: Array<{ width: number; height: number }> };
    expect(info.streams[0]).toMatchObject({ width: 320, height: 180 });
    // The whole 3 s and no more (frame timing leaves a little slack).
    expect(Number(info.format.duration)).toBeGreaterThan(2.5);
    expect(Number(info.format.duration)).toBeLessThan(3.5);
    await waitFor(() => playbacks(dvr).length === 0, 10_000, 'the playback source to go');
  });

  it('ends a playback at the end of the recording it is in', async () => {
    const now = Date.now();
    const before = await search(dvr, { timeSpans: [{ start: now - 65 * 60_000, end: now - 55 * 60_000 }] });
    // The segment the gap cut short ends off the 10-minute grid.
    const cut = before.result!.matches.find((m) => m.end % SEGMENT_MS !== 0)!;
    expect(cut).toBeDefined();
    const file = join(dir, 'to-gap.mp4');
    const pulled = await run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', rtsp(dvr, `/Streaming/tracks/101/?starttime=${playbackTime(cut.end - 2000)}`), '-c', 'copy', '-y', file], 25_000);
    expect(pulled.code, pulled.stderr).toBe(0);
    const probed = await run('ffprobe', ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file]);
    expect(Number(probed.stdout)).toBeGreaterThan(1.5);
    expect(Number(probed.stdout)).toBeLessThan(2.5);
  });

  it('gives each playback viewer a source of its own, gone once the viewer leaves', async () => {
    const url = rtsp(dvr, `/Streaming/tracks/201?starttime=${playbackTime(Date.now() - 3 * 3_600_000)}`);
    const view = () => run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', url, '-t', '2', '-c', 'copy', '-f', 'null', '-'], 25_000);
    const viewers = Promise.all([view(), view()]);
    await waitFor(() => playbacks(dvr).filter((s) => s.path.startsWith('/Streaming/tracks/201/') && s.playing === 1).length === 2, 20_000, 'two playbacks');
    expect((await viewers).map((r) => r.code)).toEqual([0, 0]);
    await waitFor(() => playbacks(dvr).length === 0, 10_000, 'the playback sources to go');
  });

});

// Checks that nothing starts, so this has a recorder of its own and runs its tests one after the other.
describe('a DVR refusing streams', () => {
  let host: DeviceHost;
  let dvr: SimDevice;

  beforeAll(async () => {
    ({ host, device: dvr } = await startDevice({ class: 'dvr', analogChannels: 2 }));
  });

  afterAll(() => host.stop());

  it('refuses a wrong password on live and playback', async () => {
    const wrong = { username: 'admin', password: 'Wrong-123' };
    expect((await probe(rtsp(dvr, '/Streaming/Channels/101', wrong))).result.stderr).toContain('401');
    const at = playbackTime(Date.now() - 20 * 60_000);
    expect((await probe(rtsp(dvr, `/Streaming/tracks/101?starttime=${at}`, wrong))).result.stderr).toContain('401');
    expect(playbacks(dvr)).toEqual([]);
  });

  it('answers 404 where nothing was recorded and 400 for a malformed time', async () => {
    const port = dvr.endpoints.rtspPort!;
    const uri = (q: string) => `rtsp://127.0.0.1:${port}/Streaming/tracks/101?${q}`;
    const now = Date.now();
    expect((await describeStatus(port, uri(`starttime=${playbackTime(now - 50 * 60_000)}`))).status).toBe(404);
    expect((await describeStatus(port, uri(`starttime=${playbackTime(now - 7 * 3_600_000)}`))).status).toBe(404);
    expect((await describeStatus(port, uri(`starttime=${playbackTime(now + 3_600_000)}`))).status).toBe(404);
    expect((await describeStatus(port, `rtsp://127.0.0.1:${port}/Streaming/tracks/301?starttime=${playbackTime(now - 60_000)}`)).status).toBe(404);
    expect((await describeStatus(port, uri('starttime=yesterday'))).status).toBe(400);
    const iso = new Date(Math.floor((now - 10 * 60_000) / 1000) * 1000).toISOString().replace('.000', '');
    expect((await describeStatus(port, uri(`starttime=${iso}&endtime=${iso}`))).status).toBe(400);
    expect(playbacks(dvr)).toEqual([]);
  });
});

describe('an NVR', () => {
  it('serves the channels it has, and stops serving a channel once it is deleted', async () => {
    const { host, device: nvr } = await startDevice({ class: 'nvr', channelCheckTimeoutMs: 200 });
    try {
      expect((await probe(rtsp(nvr, '/Streaming/Channels/101'))).result.stderr).toContain('404');
      const added = await isapi.fetch(`${http(nvr)}${IsapiPath.inputProxyChannels}`, {
        method: 'POST',
        body: buildNewInputProxyChannel({ ipAddress: '127.0.0.1', managementPort: 9, username: 'admin', password: 'x' }),
      });
      expect(added.status).toBe(200);
      const live = await probe(rtsp(nvr, '/Streaming/Channels/101'));
      expect(live.streams.map((s) => [s.codec_name, s.width])).toEqual([['h264', 320]]);
      const now = Date.now();
      expect((await search(nvr, { timeSpans: [{ start: now - 15 * 60_000, end: now }] })).result!.matches.length).toBeGreaterThan(0);
      expect((await isapi.fetch(`${http(nvr)}${IsapiPath.inputProxyChannels}/1`, { method: 'DELETE' })).status).toBe(200);
      expect((await probe(rtsp(nvr, '/Streaming/Channels/101'))).result.stderr).toContain('404');
      expect((await search(nvr, { timeSpans: [{ start: now - 15 * 60_000, end: now }] })).result!.status).toBe('NO MATCHES');
    } finally {
      await host.stop();
    }
  });
});

describe('a recorder with image and video encryption', () => {
  it('wants the stream key on live and playback URLs', async () => {
    const { host, device: nvr } = await startDevice({ class: 'nvr', flags: { poe: true }, ipChannels: 2, encryption: true, verificationCode: 'ABCDEF' });
    try {
      const port = nvr.endpoints.rtspPort!;
      const key = streamKeyFor(nvr.serial, 'ABCDEF');
      const live = `rtsp://127.0.0.1:${port}/Streaming/Channels/102`;
      const missing = await describeStatus(port, live);
      expect([missing.status, missing.headers.get(STREAM_ENCRYPTION_HEADER.toLowerCase())]).toEqual([403, 'key-required']);
      const wrong = await describeStatus(port, `${live}?key=${'0'.repeat(32)}`);
      expect([wrong.status, wrong.headers.get(STREAM_ENCRYPTION_HEADER.toLowerCase())]).toEqual([403, 'key-wrong']);
      const opened = await probe(rtsp(nvr, `/Streaming/Channels/102?key=${key}`));
      expect(opened.streams.map((s) => s.width)).toEqual([192]);
      const at = playbackTime(Date.now() - 10 * 60_000);
      const refused = await describeStatus(port, `rtsp://127.0.0.1:${port}/Streaming/tracks/201?starttime=${at}`);
      expect(refused.status).toBe(403);
      expect(playbacks(nvr)).toEqual([]);
      const played = await run('ffmpeg', ['-v', 'error', '-rtsp_transport', 'tcp', '-i', rtsp(nvr, `/Streaming/tracks/201?starttime=${at}&key=${key}`), '-t', '1', '-c', 'copy', '-f', 'null', '-'], 25_000);
      expect(played.code, played.stderr).toBe(0);
    } finally {
      await host.stop();
    }
  });
});
