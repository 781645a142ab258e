import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  encodeEnvelope,
  envelope,
  MediaRefusal,
  RpcMethod,
  topics,
  type DiscoveredDevice,
  type MediaOpenParams,
  type MediaPtzResult,
  type MediaRecordingsResult,
  type MediaSnapshotResult,
  type MediaStart,
  type RpcReplyData,
} from '@vigil/protocol';
import type { AddLanDevicesResult, VideoSession, VideoSessions, VideoSource } from '@vigil/protocol/api';

type VideoSources = { items: VideoSource[] };
import { devices } from '../db/schema.js';
import type { ApiClient} from '../testing/cloud.js';
import { registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, nonce, publish, until } from '../testing/edge.js';

const CONNECT_TIMEOUT_MS = 2000;
const WAIT = 20_000;

let cloud: TestCloud;
let players: EdgePlayers;
/** A real fragmented MP4 from ffmpeg: its init segment (ftyp+moov) and its fragments (moof+mdat). */
let fmp4: { whole: Buffer; init: Buffer; fragments: Buffer[] };
let jpeg: Buffer;

beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_VIDEO_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS) });
  players = new EdgePlayers(cloud.mqttUrl);
  const whole = execFileSync('/usr/bin/ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=10', '-t', '3'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '10', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-f', 'mp4', 'pipe:1'],
  ]);
  fmp4 = { whole, ...splitFmp4(whole) };
  jpeg = execFileSync('/usr/bin/ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180', '-frames:v', '1', '-f', 'mjpeg', 'pipe:1']);
}, 60_000);
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

/** Top-level MP4 boxes, grouped as an edge box sends them: ftyp+moov, then each moof+mdat. */
function splitFmp4(data: Buffer): { init: Buffer; fragments: Buffer[] } {
  const boxes: { type: string; bytes: Buffer }[] = [];
  for (let at = 0; at < data.length; ) {
    const size = data.readUInt32BE(at);
    boxes.push({ type: data.toString('latin1', at + 4, at + 8), bytes: data.subarray(at, at + size) });
    at += size;
  }
  const moof = boxes.findIndex((b) => b.type === 'moof');
  const fragments: Buffer[] = [];
  // The file ends with an index (mfra) that no live stream carries.
  for (let i = moof; boxes[i]?.type === 'moof' && boxes[i + 1]?.type === 'mdat'; i += 2) fragments.push(Buffer.concat([boxes[i]!.bytes, boxes[i + 1]!.bytes]));
  return { init: Buffer.concat(boxes.slice(0, moof).map((b) => b.bytes)), fragments };
}

const START: MediaStart = { format: 'fmp4', mime: 'video/mp4; codecs="avc1.640028"', sourceCodec: 'h264', transcoded: false, audio: 'none', width: 320, height: 180 };
const PASSWORD = 'Install-2026';
const CODE = 'ABCDEF';
type Refusal = { code: string; message: string };

let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7.0', mac: '44:19:b6:00:00:01',
  network: { dhcp: false, ipv4: `10.0.0.${++ipSeq}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: true, channels: 1, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});

/** The edge box's side of a media session: it connects the ingest with its token and sends as told. */
interface Ingest {
  params: MediaOpenParams;
  ws: WebSocket;
  closed: boolean;
  send(data: Buffer | string): void;
}

/**
 * A site with a played edge box that sees a PTZ camera, an encrypted camera (code ABCDEF), an NVR with 4
 * channels and a switch, all added to the site; the box answers the media RPCs and opens the ingest sockets.
 * A clip session sends the ffmpeg file in pieces and ends.
 */
async function setup() {
  const company = await registerCompany(cloud.api);
  const site = await company.client.post<{ id: string }>('/sites', { name: `Site ${nonce()}`, type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 });
  expect(site.status).toBe(201);
  const siteId = site.body.id;
  const { serial, edge } = await players.claimed(company.client, siteId);
  const s = { ptz: `PTZ${nonce()}`, locked: `ENC${nonce()}`, nvr: `NVR${nonce()}`, sw: `SW${nonce()}` };
  const lan = [
    found(s.ptz, { model: 'DS-2DE4425IW-DE' }),
    found(s.locked),
    found(s.nvr, { deviceClass: 'nvr', model: 'DS-7604NI-K1', httpPort: 8080, channels: 4 }),
    found(s.sw, { deviceClass: 'switch', model: 'DS-3E0510P-E', channels: 0 }),
  ];
  await publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at: Date.now(), devices: lan })));
  await until(() => company.client.get<{ items: unknown[] }>(`/sites/${siteId}/lan`), (r) => r.body.items.length === 4, 'LAN snapshot');
  const added = await company.client.post<AddLanDevicesResult>(`/sites/${siteId}/onsite/add`, { serials: Object.values(s) });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  const id = (serial: string) => added.body.devices.find((d) => d.serial === serial)!.id;
  expect((await company.client.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: 'VRF2026A' })).status).toBe(200);

  const opens: MediaOpenParams[] = [];
  const closes: string[] = [];
  const ingests = new Map<string, Ingest>();
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  await answerCommands<MediaOpenParams>(edge, serial, RpcMethod.mediaOpen, (params) => {
    opens.push(params);
    if (params.source.kind === 'camera' && params.source.deviceKey === s.locked) {
      if (params.verificationCode === undefined) return { ok: true, result: { ok: false, code: MediaRefusal.verificationCodeRequired, message: 'The device wants its verification code.' } };
      if (params.verificationCode !== CODE) return { ok: true, result: { ok: false, code: MediaRefusal.verificationCodeWrong, message: 'That code does not open the stream.' } };
    }
    const ws = new WebSocket(params.ingest.url, { headers: { authorization: `Bearer ${params.ingest.token}` } });
    const ingest: Ingest = { params, ws, closed: false, send: (d) => ws.send(d) };
    ingests.set(params.sessionId, ingest);
    ws.on('close', () => (ingest.closed = true));
    ws.on('error', () => undefined);
    ws.on('open', () => {
      if (params.mode.kind === 'clip') {
        ws.send(JSON.stringify({ type: 'start', ...START, startsAt: params.mode.from }));
        for (let at = 0; at < fmp4.whole.length; at += 16 * 1024) ws.send(fmp4.whole.subarray(at, at + 16 * 1024));
        ws.send(JSON.stringify({ type: 'end' }));
        ws.close();
        return;
      }
      ws.send(JSON.stringify({ type: 'start', ...START }));
      ws.send(fmp4.init);
    });
    return { ok: true, result: { ok: true, start: START, shared: false } };
  });
  await answerCommands<{ sessionId: string }>(edge, serial, RpcMethod.mediaClose, (params) => {
    closes.push(params.sessionId);
    return { ok: true, result: { closed: true } };
  });
  const answer = (method: string, result: (params: Record<string, unknown>) => unknown) =>
    answerCommands<Record<string, unknown>>(edge, serial, method, (params) => {
      calls.push({ method, params });
      return { ok: true, result: result(params) } as RpcReplyData;
    });
  await answer(RpcMethod.mediaSnapshot, (): MediaSnapshotResult => ({ ok: true, jpegBase64: jpeg.toString('base64'), at: new Date().toISOString() }));
  await answer(RpcMethod.mediaPtz, (p): MediaPtzResult =>
    (p.source as { deviceKey?: string }).deviceKey === s.ptz
      ? { ok: true, presets: [{ token: '1', name: 'Gate' }], position: { pan: 0.1, tilt: 0, zoom: 0 } }
      : { ok: false, code: MediaRefusal.ptzUnsupported, message: 'This camera has no PTZ.' },
  );
  await answer(RpcMethod.mediaRecordings, (p): MediaRecordingsResult => ({ ok: true, segments: [{ from: p.from as string, to: p.to as string, type: 'continuous' }], truncated: false }));
  return { ...company, siteId, edgeSerial: serial, edge, s, ids: { ptz: id(s.ptz), locked: id(s.locked), nvr: id(s.nvr), sw: id(s.sw) }, opens, closes, ingests, calls };
}

type Site = Awaited<ReturnType<typeof setup>>;
let site: Site;
beforeAll(async () => {
  site = await setup();
}, 60_000);

/** A player: its socket and every message it got, or the refusal of its upgrade. */
interface Player {
  ws: WebSocket;
  got: (string | Buffer)[];
  closed: Promise<{ code: number; reason: string }>;
}
function play(url: string, headers: Record<string, string> = {}): Promise<Player | { status: number; body: Refusal }> {
  const ws = new WebSocket(`${cloud.url.replace(/^http/, 'ws')}${url}`, { headers });
  const got: (string | Buffer)[] = [];
  ws.on('message', (data, isBinary) => got.push(isBinary ? Buffer.from(data as Buffer) : (data as Buffer).toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, got, closed }));
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') as Refusal }));
    });
    ws.on('error', reject);
  });
}
async function player(url: string, headers: Record<string, string> = {}): Promise<Player> {
  const p = await play(url, headers);
  if (!('ws' in p)) throw new Error(`player refused: ${p.status} ${JSON.stringify(p.body)}`);
  return p;
}
const waitFor = (what: string, ok: () => boolean) => until(async () => ok(), (v) => v, what, WAIT);
const texts = (p: Player) => p.got.filter((m): m is string => typeof m === 'string').map((t) => JSON.parse(t) as { type: string });
const binaries = (p: Player) => p.got.filter((m): m is Buffer => Buffer.isBuffer(m));

async function openLive(client: ApiClient, deviceId: string, body: Record<string, unknown> = {}) {
  return client.post<VideoSession & Refusal>(`/devices/${deviceId}/video/sessions`, { mode: 'live', ...body });
}
async function openPlayback(client: ApiClient, deviceId: string, channel: number) {
  return client.post<VideoSession & Refusal>(`/devices/${deviceId}/video/sessions`, { mode: 'playback', channel, from: '2026-12-01T10:00:00Z' });
}
const windows = async (client: ApiClient) => (await client.get<VideoSessions>('/video/sessions')).body.items;
async function oplog(client: ApiClient): Promise<string[]> {
  return (await client.get<{ items: { content: string }[] }>('/operation-logs')).body.items.map((l) => l.content);
}

/** An employee of the company with the given permissions. */
async function employee(companyId: string, permissions: string[]) {
  const client = await signInEmployee(cloud, companyId, permissions);
  await client.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: 'VRF2026A' });
  return client;
}

describe('live view through the edge box', () => {
  it('relays the box ingest to every player of one shared edge session, and ends it with the last player', async () => {
    const opened = await openLive(site.client, site.ids.ptz);
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    expect(opened.body.url).toMatch(/^\/api\/v1\/video\/sessions\/[0-9a-f-]{36}\/stream\?ticket=/);
    expect(opened.body.start).toEqual(START);
    const open = site.opens.at(-1)!;
    expect(open.source).toEqual({ kind: 'camera', deviceKey: site.s.ptz });
    expect(open.mode).toEqual({ kind: 'live' });
    const ingest = site.ingests.get(open.sessionId)!;

    const first = await player(opened.body.url);
    await waitFor('start and init at the first player', () => first.got.length >= 2);
    expect(texts(first)[0]).toMatchObject({ type: 'start', format: 'fmp4' });
    expect(binaries(first)[0]!.equals(fmp4.init)).toBe(true);
    ingest.send(fmp4.fragments[0]!);
    await waitFor('first fragment', () => binaries(first).length === 2);
    expect(binaries(first)[1]!.equals(fmp4.fragments[0]!)).toBe(true);

    // A second window of the same stream joins the same edge session: cached start + init and the latest fragment
    // (it starts at a key frame, so the picture shows at once), then the new fragments.
    const opensBefore = site.opens.length;
    const second = await openLive(site.client, site.ids.ptz);
    expect(second.status).toBe(201);
    expect(site.opens.length).toBe(opensBefore);
    const late = await player(second.body.url);
    await waitFor('start, init and the latest fragment at the late player', () => late.got.length >= 3);
    ingest.send(fmp4.fragments[1]!);
    await waitFor('second fragment at both', () => binaries(first).length === 3 && binaries(late).length === 3);
    expect(texts(late)[0]).toMatchObject({ type: 'start' });
    expect(binaries(late)[0]!.equals(fmp4.init)).toBe(true);
    expect(binaries(late)[1]!.equals(fmp4.fragments[0]!)).toBe(true);
    expect(binaries(late)[2]!.equals(fmp4.fragments[1]!)).toBe(true);
    ingest.send(JSON.stringify({ type: 'stalled' }));
    await waitFor('stalled at both', () => texts(first).some((m) => m.type === 'stalled') && texts(late).some((m) => m.type === 'stalled'));

    const mine = await windows(site.client);
    expect(mine.map((w) => w.sessionId).sort()).toEqual([opened.body.sessionId, second.body.sessionId].sort());
    expect(mine[0]).not.toHaveProperty('url');

    first.ws.close();
    await first.closed;
    await until(() => windows(site.client), (w) => w.length === 1, 'first window freed', WAIT);
    expect(ingest.closed).toBe(false);
    late.ws.close();
    await waitFor('ingest closed and media.close sent after the last player', () => ingest.closed && site.closes.includes(open.sessionId));
    expect(await windows(site.client)).toEqual([]);
    expect(await oplog(site.client)).toContain('Live View Succeeded');
  });

  it('closes the players with the reason when the box ends the session with an error', async () => {
    const opened = await openLive(site.client, site.ids.ptz, { stream: 'sub' });
    const p = await player(opened.body.url);
    const ingest = site.ingests.get(site.opens.at(-1)!.sessionId)!;
    await waitFor('init', () => binaries(p).length === 1);
    ingest.send(JSON.stringify({ type: 'error', code: MediaRefusal.deviceUnreachable, message: 'The camera stopped answering.' }));
    ingest.ws.close();
    const closed = await p.closed;
    expect(closed.code).toBe(1011);
    expect(closed.reason).toBe('The camera stopped answering.');
    expect(texts(p).at(-1)).toMatchObject({ type: 'error', code: MediaRefusal.deviceUnreachable });
    await until(() => windows(site.client), (w) => w.length === 0, 'window freed', WAIT);
  });

  it('lets a slow player skip whole fragments instead of piling them up, and restarts players on a new start', async () => {
    const fast = await player((await openLive(site.client, site.ids.nvr, { channel: 4 })).body.url);
    const slowOpened = await openLive(site.client, site.ids.nvr, { channel: 4 });
    const slow = await player(slowOpened.body.url);
    const ingest = site.ingests.get(site.opens.at(-1)!.sessionId)!;
    await waitFor('init at both', () => binaries(fast).length === 1 && binaries(slow).length === 1);
    // The slow player stops reading: the kernel's buffers fill, then the cloud's.
    const slowSocket = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    slowSocket.pause();
    const sent = Array.from({ length: 40 }, (_, i) => Buffer.alloc(1024 * 1024, i + 1));
    for (const f of sent) ingest.send(f);
    await waitFor('every fragment at the fast player', () => binaries(fast).length === 41);
    slowSocket.resume();
    ingest.send(JSON.stringify({ type: 'stalled' }));
    await waitFor('the slow player caught up', () => texts(slow).some((m) => m.type === 'stalled'));
    const got = binaries(slow).slice(1);
    expect(got.length).toBeLessThan(sent.length);
    expect(got.length).toBeGreaterThan(0);
    // What it got are whole fragments, in order.
    const order = got.map((g) => sent.findIndex((f) => f.equals(g)));
    expect(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!))).toBe(true);

    // The box restarted the stream: a new start and init reach everyone, and a newcomer gets those.
    const init2 = Buffer.concat([fmp4.init, Buffer.from('restarted')]);
    ingest.send(JSON.stringify({ type: 'start', ...START, width: 640, height: 360 }));
    ingest.send(init2);
    await waitFor('new init at the fast player', () => binaries(fast).some((b) => b.equals(init2)));
    const newcomer = await player((await openLive(site.client, site.ids.nvr, { channel: 4 })).body.url);
    await waitFor('the newcomer has start and init', () => newcomer.got.length >= 2);
    expect(texts(newcomer)[0]).toMatchObject({ type: 'start', width: 640 });
    expect(binaries(newcomer)[0]!.equals(init2)).toBe(true);
    for (const p of [fast, slow, newcomer]) p.ws.close();
    await waitFor('ingest closed', () => ingest.closed);
  });

  it('counts 16 live and 4 playback windows per viewer, and closing one frees its slot', async () => {
    const live: { session: VideoSession; player: Player }[] = [];
    for (let i = 0; i < 16; i++) {
      const r = await openLive(site.client, site.ids.ptz);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      live.push({ session: r.body, player: await player(r.body.url) });
    }
    const refused = await openLive(site.client, site.ids.ptz);
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('LIVE_VIEW_LIMIT');
    // Another viewer has slots of his own.
    const other = await employee(site.companyId, ['site.manage_all', 'video.live_view']);
    expect((await openLive(other, site.ids.ptz)).status).toBe(201);

    const playback: Player[] = [];
    for (let channel = 1; channel <= 4; channel++) {
      const r = await openPlayback(site.client, site.ids.nvr, channel);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      playback.push(await player(r.body.url));
    }
    const playbackOpens = site.opens.filter((o) => o.mode.kind === 'playback').slice(-4);
    expect(new Set(playbackOpens.map((o) => o.sessionId)).size).toBe(4);
    expect(playbackOpens[2]!.source).toMatchObject({ kind: 'recorder', channel: 3, recorder: { serial: site.s.nvr, httpPort: 8080, password: PASSWORD } });
    const fifth = await openPlayback(site.client, site.ids.nvr, 1);
    expect(fifth.status).toBe(429);
    expect(fifth.body.code).toBe('PLAYBACK_LIMIT');

    // A DELETE frees a live slot; a player leaving frees a playback slot.
    expect((await site.client.delete(`/video/sessions/${live[0]!.session.sessionId}`)).status).toBe(204);
    expect((await live[0]!.player.closed).code).toBe(1000);
    const again = await openLive(site.client, site.ids.ptz);
    expect(again.status).toBe(201);
    playback[0]!.ws.close();
    await until(() => openPlayback(site.client, site.ids.nvr, 1), (r) => r.status === 201, 'playback slot freed', WAIT);

    for (const l of live) l.player.ws.close();
    for (const p of playback) p.ws.close();
    await until(() => windows(site.client), (w) => w.length === 0, 'every window freed', WAIT);
  });

  it('frees a window whose player never connects, and its ticket with it', async () => {
    const opened = await openLive(site.client, site.ids.ptz, { stream: 'sub' });
    expect(opened.status).toBe(201);
    expect((await windows(site.client)).map((w) => w.sessionId)).toContain(opened.body.sessionId);
    await until(() => windows(site.client), (w) => !w.some((x) => x.sessionId === opened.body.sessionId), 'unconnected window freed', WAIT);
    const late = await play(opened.body.url);
    expect('status' in late && late.status).toBe(404);
  });

  it('takes a ticket once, and only from its viewer', async () => {
    const opened = await openLive(site.client, site.ids.ptz);
    const stranger = await employee(site.companyId, ['site.manage_all', 'video.live_view']);
    const foreign = await play(opened.body.url, { cookie: stranger.cookie! });
    expect('status' in foreign && foreign.status).toBe(403);
    const wrongTicket = await play(opened.body.url.replace(/ticket=.*/, 'ticket=nope'));
    expect('status' in wrongTicket && wrongTicket.status).toBe(403);
    // Refused attempts do not use the ticket up.
    const p = await player(opened.body.url, { cookie: site.client.cookie! });
    const reused = await play(opened.body.url);
    expect('status' in reused && reused.status).toBe(403);
    expect('body' in reused && reused.body.code).toBe('VIDEO_TICKET_INVALID');
    // Another viewer cannot close it.
    expect((await stranger.delete(`/video/sessions/${opened.body.sessionId}`)).status).toBe(404);
    p.ws.close();
    await p.closed;
  });

  it('refuses an ingest without the session token, or for no open session', async () => {
    const opened = await openLive(site.client, site.ids.nvr, { channel: 2 });
    expect(opened.status).toBe(201);
    const open = site.opens.at(-1)!;
    expect(open.source).toMatchObject({ kind: 'recorder', channel: 2 });
    const refusedIngest = (headers: Record<string, string>, url = open.ingest.url) =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('ingest accepted')));
        ws.on('error', () => undefined);
      });
    expect(await refusedIngest({ authorization: `Bearer ${'x'.repeat(43)}` })).toBe(401);
    expect(await refusedIngest({})).toBe(401);
    expect(await refusedIngest({ authorization: `Bearer ${open.ingest.token}` }, open.ingest.url.replace(open.sessionId, randomUUID()))).toBe(404);
    // The real ingest (connected by the box) still feeds the player.
    const p = await player(opened.body.url);
    await waitFor('init', () => binaries(p).length === 1);
    p.ws.close();
    await waitFor('media.close', () => site.closes.includes(open.sessionId));
    expect(await refusedIngest({ authorization: `Bearer ${open.ingest.token}` })).toBe(404);
  });
});

describe('encrypted devices', () => {
  it('asks for the verification code, remembers the device as encrypted, and shares only with the same code', async () => {
    const none = await openLive(site.client, site.ids.locked);
    expect(none.status).toBe(403);
    expect(none.body.code).toBe('VERIFICATION_CODE_REQUIRED');
    const sources = (await site.client.get<VideoSources>(`/sites/${site.siteId}/video/sources`)).body.items;
    expect(sources.find((x) => x.deviceId === site.ids.locked)!.encrypted).toBe(true);
    const wrong = await openLive(site.client, site.ids.locked, { verificationCode: 'WRONG1' });
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('VERIFICATION_CODE_WRONG');

    const right = await openLive(site.client, site.ids.locked, { verificationCode: CODE });
    expect(right.status, JSON.stringify(right.body)).toBe(201);
    expect(site.opens.at(-1)!.verificationCode).toBe(CODE);
    const p = await player(right.body.url);
    const opensBefore = site.opens.length;
    const joinWrong = await openLive(site.client, site.ids.locked, { verificationCode: 'WRONG1' });
    expect(joinWrong.body.code).toBe('VERIFICATION_CODE_WRONG');
    const joinNone = await openLive(site.client, site.ids.locked);
    expect(joinNone.body.code).toBe('VERIFICATION_CODE_REQUIRED');
    const join = await openLive(site.client, site.ids.locked, { verificationCode: CODE });
    expect(join.status).toBe(201);
    expect(site.opens.length).toBe(opensBefore);
    await site.client.delete(`/video/sessions/${join.body.sessionId}`);
    p.ws.close();
    await p.closed;
  });
});

describe('who may watch', () => {
  it('refuses viewers without the permission, sites they may not see, and other companies', async () => {
    const noLive = await employee(site.companyId, ['site.manage_all', 'video.playback']);
    const r1 = await openLive(noLive, site.ids.ptz);
    expect(r1.status).toBe(403);
    expect(r1.body.code).toBe('PERMISSION_DENIED');
    expect((await noLive.post(`/devices/${site.ids.ptz}/ptz`, { action: { type: 'stop' } })).status).toBe(403);
    expect((await noLive.get(`/devices/${site.ids.ptz}/snapshot`)).status).toBe(403);

    const noPlayback = await employee(site.companyId, ['site.manage_all', 'video.live_view']);
    expect((await openPlayback(noPlayback, site.ids.nvr, 1)).status).toBe(403);
    expect((await noPlayback.get(`/devices/${site.ids.nvr}/recordings?from=2026-12-01T00:00:00Z&to=2026-12-01T01:00:00Z`)).status).toBe(403);
    expect((await noPlayback.get(`/devices/${site.ids.nvr}/clip?from=2026-12-01T00:00:00Z&to=2026-12-01T00:01:00Z`)).status).toBe(403);

    // Assigned-sites employee who was not given this site: it does not exist for them.
    const unassigned = await employee(site.companyId, ['site.manage_assigned', 'video.live_view', 'video.playback']);
    const r2 = await openLive(unassigned, site.ids.ptz);
    expect(r2.status).toBe(404);
    expect((await unassigned.get(`/sites/${site.siteId}/video/sources`)).status).toBe(404);

    const outsider = await registerCompany(cloud.api);
    const r3 = await openLive(outsider.client, site.ids.ptz);
    expect(r3.status).toBe(404);
    expect((await outsider.client.get(`/devices/${site.ids.ptz}/snapshot`)).status).toBe(404);
    expect((await outsider.client.get(`/sites/${site.siteId}/video/sources`)).status).toBe(404);
    expect(await windows(outsider.client)).toEqual([]);
  });

  it('refuses devices without video, offline devices and playback of a camera', async () => {
    const sw = await openLive(site.client, site.ids.sw);
    expect(sw.status).toBe(409);
    expect(sw.body.code).toBe('DEVICE_HAS_NO_VIDEO');
    expect((await openLive(site.client, site.ids.nvr, { channel: 5 })).body.code).toBe('DEVICE_HAS_NO_VIDEO');
    const cam = await site.client.post<Refusal>(`/devices/${site.ids.ptz}/video/sessions`, { mode: 'playback', from: '2026-12-01T10:00:00Z' });
    expect(cam.status).toBe(409);
    const noFrom = await site.client.post<Refusal>(`/devices/${site.ids.nvr}/video/sessions`, { mode: 'playback' });
    expect(noFrom.status).toBe(400);

    await cloud.ctx.db.update(devices).set({ status: 'offline' }).where(eq(devices.id, site.ids.ptz));
    try {
      const opensBefore = site.opens.length;
      const offline = await openLive(site.client, site.ids.ptz);
      expect(offline.status).toBe(409);
      expect(offline.body.code).toBe('DEVICE_OFFLINE');
      expect(site.opens.length).toBe(opensBefore);
      const sources = (await site.client.get<VideoSources>(`/sites/${site.siteId}/video/sources`)).body.items;
      expect(sources.find((x) => x.deviceId === site.ids.ptz)!.online).toBe(false);
    } finally {
      await cloud.ctx.db.update(devices).set({ status: 'online' }).where(eq(devices.id, site.ids.ptz));
    }
  });
});

describe('sources, snapshots, PTZ, recordings and clips', () => {
  it('lists the cameras and recorder channels of the site', async () => {
    const r = await site.client.get<VideoSources>(`/sites/${site.siteId}/video/sources`);
    expect(r.status).toBe(200);
    const ptz = r.body.items.find((x) => x.deviceId === site.ids.ptz)!;
    expect(ptz).toMatchObject({ channel: null, ptz: true, playback: false, online: true, kind: 'camera' });
    const channels = r.body.items.filter((x) => x.deviceId === site.ids.nvr);
    expect(channels.map((c) => c.channel)).toEqual([1, 2, 3, 4]);
    expect(channels[2]!.label).toMatch(/channel 3$/);
    expect(channels.every((c) => c.playback)).toBe(true);
    expect(r.body.items.some((x) => x.deviceId === site.ids.sw)).toBe(false);
  });

  it('gives a snapshot as a JPEG, moves a PTZ camera and lists recordings', async () => {
    const res = await fetch(`${cloud.api}/devices/${site.ids.ptz}/snapshot?stream=sub`, { headers: { cookie: site.client.cookie! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await res.arrayBuffer()).equals(jpeg)).toBe(true);

    const moved = await site.client.post<{ presets: unknown[]; position: unknown }>(`/devices/${site.ids.ptz}/ptz`, { action: { type: 'move', pan: 0.5, tilt: 0, zoom: 0 } });
    expect(moved.status).toBe(200);
    expect(moved.body.position).toEqual({ pan: 0.1, tilt: 0, zoom: 0 });
    expect(site.calls.at(-1)).toMatchObject({ method: RpcMethod.mediaPtz, params: { action: { type: 'move', pan: 0.5 } } });
    const unsupported = await site.client.post<Refusal>(`/devices/${site.ids.locked}/ptz`, { action: { type: 'stop' } });
    expect(unsupported.status).toBe(409);
    expect(unsupported.body.code).toBe('MEDIA_PTZ_UNSUPPORTED');
    expect(await oplog(site.client)).toContain('PTZ Control Succeeded');

    const recs = await site.client.get<{ segments: { type: string }[] }>(`/devices/${site.ids.nvr}/recordings?channel=3&from=2026-12-01T00:00:00Z&to=2026-12-01T06:00:00Z`);
    expect(recs.status).toBe(200);
    expect(recs.body.segments[0]!.type).toBe('continuous');
    expect(site.calls.at(-1)!.params).toMatchObject({ source: { kind: 'recorder', channel: 3 }, from: '2026-12-01T00:00:00Z' });
  });

  it('downloads a clip as an MP4 file streamed from the box, within the longest clip', async () => {
    const res = await fetch(`${cloud.api}/devices/${site.ids.nvr}/clip?channel=2&from=2026-12-01T10:00:00Z&to=2026-12-01T10:00:03Z`, { headers: { cookie: site.client.cookie! } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename=".+-ch2-20261201T100000Z\.mp4"$/);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(fmp4.whole)).toBe(true);
    expect(site.opens.at(-1)!.mode).toEqual({ kind: 'clip', from: '2026-12-01T10:00:00Z', to: '2026-12-01T10:00:03Z' });
    await until(() => windows(site.client), (w) => !w.some((x) => x.deviceId === site.ids.nvr && x.channel === 2), 'clip window freed', WAIT);
    expect(await oplog(site.client)).toContain('Download Video Succeeded');

    const tooLong = await site.client.get<Refusal>(`/devices/${site.ids.nvr}/clip?from=2026-12-01T10:00:00Z&to=2026-12-01T10:30:01Z`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.code).toBe('CLIP_TOO_LONG');
  });
});
