import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeviceKind, RpcMethod, type MediaOpenParams, type MediaSnapshotResult, type MediaStart } from '@vigil/protocol';
import { SiteStatus, type DeviceUse, type VideoSessions } from '@vigil/protocol/api';
import { clips, cloudStorageChannels, devicePermissions, devices, sharings, sites } from '../db/schema.js';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, until } from '../testing/edge.js';
import { sweepIntervalMs } from '../video/expiry.js';

/** "1 hour" of a grant lasts this long here, so a grant expires while the test watches. */
const HOUR_MS = 1500;
const START: MediaStart = { format: 'fmp4', mime: 'video/mp4; codecs="avc1.640028"', sourceCodec: 'h264', transcoded: false, audio: 'none', width: 320, height: 180 };
const STORAGE_OFF = { enabled: false, stream: 'main', triggers: { motion: { enabled: true, notifySurveillanceCenter: true } }, schedule: null, preSeconds: 0, postSeconds: 5 };

let cloud: TestCloud;
let players: EdgePlayers;
let client: ApiClient;
let companyId: string;
let other: Awaited<ReturnType<typeof registerCompany>>;
let siteId: string;
/** Two cameras behind one played edge box that answers the media calls; the live sessions it was told to close. */
let cameras: { door: string; yard: string };
const closed: string[] = [];

beforeAll(async () => {
  cloud = await startTestCloud({ VIGIL_PERMISSION_HOUR_MS: String(HOUR_MS), VIGIL_VIDEO_CONNECT_TIMEOUT_MS: '60000' });
  players = new EdgePlayers(cloud.mqttUrl);
  ({ client, companyId } = await registerCompany(cloud.api, 'Holders'));
  other = await registerCompany(cloud.api, 'Others');
  siteId = await newSite(client);
  const { serial, edge } = await players.claimed(client, siteId);
  const camera = (name: string) => ({
    companyId,
    siteId,
    edgeSerial: serial,
    deviceKey: `CAM${randomUUID().slice(0, 8)}`,
    kind: DeviceKind.camera,
    protocol: 'isapi',
    manufacturer: 'Hikvision',
    model: 'DS-2CD2143G2-I',
    serial: `DS${randomUUID().replace(/-/g, '').slice(0, 12)}`,
    firmware: 'V5.7.0',
    name,
    host: '10.0.0.21',
    port: 80,
    channels: 1,
    reportedOnline: true,
    reportedAt: new Date(),
    status: 'online',
  });
  const [door, yard] = await cloud.ctx.db.insert(devices).values([camera('Door'), camera('Yard')]).returning();
  cameras = { door: door!.id, yard: yard!.id };
  await answerCommands<MediaOpenParams>(edge, serial, RpcMethod.mediaOpen, () => ({ ok: true, result: { ok: true, start: START, shared: false } }));
  await answerCommands<{ sessionId: string }>(edge, serial, RpcMethod.mediaClose, (p) => {
    closed.push(p.sessionId);
    return { ok: true, result: { closed: true } };
  });
  await answerCommands(edge, serial, RpcMethod.mediaSnapshot, (): { ok: true; result: MediaSnapshotResult } => ({
    ok: true,
    result: { ok: true, jpegBase64: Buffer.from('jpeg').toString('base64'), at: new Date().toISOString() },
  }));
}, 30_000);
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

async function setStatus(status: SiteStatus, mode: 'A' | 'B' | null = null) {
  await cloud.ctx.db.update(sites).set({ status }).where(eq(sites.id, siteId));
  await cloud.ctx.db.delete(sharings).where(eq(sharings.siteId, siteId));
  if (mode) await cloud.ctx.db.insert(sharings).values({ siteId, companyId, mode });
}

/** Replaces every grant of the site by the ones given. */
async function grants(...rows: { deviceId?: string; use: DeviceUse; status?: string; expiresInMs?: number | null; holder?: string }[]) {
  await cloud.ctx.db.delete(devicePermissions).where(eq(devicePermissions.siteId, siteId));
  if (rows.length === 0) return;
  await cloud.ctx.db.insert(devicePermissions).values(
    rows.map((r) => ({
      siteId,
      deviceId: r.deviceId ?? cameras.door,
      companyId: r.holder ?? companyId,
      permission: r.use,
      validity: r.expiresInMs === null || r.expiresInMs === undefined ? 'Permanent' : '1h',
      status: r.status ?? 'approved',
      source: 'application',
      decidedAt: new Date(),
      expiresAt: r.expiresInMs === null || r.expiresInMs === undefined ? null : new Date(Date.now() + r.expiresInMs),
      releasedAt: r.status === 'released' ? new Date() : null,
    })),
  );
}

/** A snapshot is a JPEG when it comes, a JSON refusal otherwise. */
async function snapshot(deviceId = cameras.door) {
  const res = await fetch(`${cloud.api}/devices/${deviceId}/snapshot`, { headers: { cookie: client.cookie! } });
  const body = res.headers.get('content-type')?.startsWith('application/json') ? ((await res.json()) as { code?: string }) : null;
  return { status: res.status, body };
}
const outcome = (r: { status: number; body: unknown }) => [r.status, (r.body as { code?: string } | null)?.code ?? null];

describe('device permissions at the moment of use', () => {
  it('changes nothing before handover: the company holds its devices', async () => {
    await setStatus(SiteStatus.notHandedOver);
    await grants();
    expect(outcome(await snapshot())).toEqual([200, null]);
    expect(outcome(await client.get(`/sites/${siteId}/clips?deviceId=${cameras.door}`))).toEqual([200, null]);
    await setStatus(SiteStatus.toBeAccepted);
    expect(outcome(await snapshot())).toEqual([200, null]);
  });

  it('answers live view on a handed-over site by the grant the company holds right now', async () => {
    await setStatus(SiteStatus.handedOverNotAuthorized);
    const cases: [string, Parameters<typeof grants>, number, string | null][] = [
      ['no grant', [], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ['approved until later', [{ use: 'LiveView', expiresInMs: 60_000 }], 200, null],
      ['approved, permanent', [{ use: 'LiveView', expiresInMs: null }], 200, null],
      ['approved, expired', [{ use: 'LiveView', expiresInMs: -1000 }], 403, 'DEVICE_PERMISSION_EXPIRED'],
      ['released', [{ use: 'LiveView', status: 'released' }], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ['pending', [{ use: 'LiveView', status: 'pending' }], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ["another company's", [{ use: 'LiveView', holder: other.companyId }], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ['playback only', [{ use: 'Playback' }], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ['another device only', [{ use: 'LiveView', deviceId: cameras.yard }], 403, 'DEVICE_PERMISSION_REQUIRED'],
      ['an expired and a valid one', [{ use: 'LiveView', expiresInMs: -1000 }, { use: 'LiveView', expiresInMs: 60_000 }], 200, null],
    ];
    for (const [what, rows, status, code] of cases) {
      await grants(...rows);
      expect([what, ...outcome(await snapshot())]).toEqual([what, status, code]);
    }
    // Live video sessions ask the same: refused without the grant, nothing opened.
    await grants();
    const refused = await client.post<{ code: string }>(`/devices/${cameras.door}/video/sessions`, { mode: 'live' });
    expect(outcome(refused)).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    expect((await client.get<VideoSessions>('/video/sessions')).body.items).toEqual([]);
    // Another company still does not see the site at all.
    expect(outcome(await other.client.get(`/devices/${cameras.door}/snapshot`))).toEqual([404, 'DEVICE_NOT_FOUND']);
  });

  it('lists and serves cloud-storage clips only of the devices granted for playback', async () => {
    await setStatus(SiteStatus.handedOverNotAuthorized);
    const now = Date.now();
    const clip = (deviceId: string) => ({
      id: randomUUID(),
      edgeSerial: 'VGE0',
      companyId,
      siteId,
      deviceId,
      channel: 1,
      eventTypes: ['motion'],
      events: [],
      eventAt: new Date(now),
      startAt: new Date(now - 5000),
      endAt: new Date(now + 5000),
      durationSeconds: 10,
      partial: false,
      videoBytes: 10,
      videoSha256: 'v',
      thumbnailBytes: 10,
      thumbnailSha256: 't',
      complete: true,
      retentionDays: 7,
      expiresAt: new Date(now + 86_400_000),
    });
    const [doorClip, yardClip] = await cloud.ctx.db.insert(clips).values([clip(cameras.door), clip(cameras.yard)]).returning();
    const listed = async (query = '') => {
      const r = await client.get<{ items: { id: string }[]; code?: string }>(`/sites/${siteId}/clips${query}`);
      return [r.status, r.body.code ?? null, (r.body.items ?? []).map((c) => c.id).sort()];
    };
    await grants({ use: 'Playback', expiresInMs: 60_000 });
    expect(await listed()).toEqual([200, null, [doorClip!.id]]);
    expect(await listed(`?deviceId=${cameras.yard}`)).toEqual([403, 'DEVICE_PERMISSION_REQUIRED', []]);
    // Past the gate, the stored object is missing here: not found, not refused.
    expect(outcome(await client.get(`/clips/${doorClip!.id}/thumbnail`))).toEqual([404, 'CLIP_NOT_FOUND']);
    expect(outcome(await client.get(`/clips/${yardClip!.id}/thumbnail`))).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    await grants({ use: 'Playback', expiresInMs: -1 });
    expect(await listed()).toEqual([200, null, []]);
    expect(outcome(await client.get(`/clips/${doorClip!.id}/video`))).toEqual([403, 'DEVICE_PERMISSION_EXPIRED']);
    await setStatus(SiteStatus.shared, 'B');
    expect((await listed())[2]).toEqual([doorClip!.id, yardClip!.id].sort());
    await cloud.ctx.db.delete(clips).where(eq(clips.siteId, siteId));
  });

  it('needs no grant on a site shared in Mode B, and the Customer Administrator’s in Mode A', async () => {
    await grants();
    await setStatus(SiteStatus.shared, 'B');
    expect(outcome(await snapshot())).toEqual([200, null]);
    await setStatus(SiteStatus.shared, 'A');
    expect(outcome(await snapshot())).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    await grants({ use: 'LiveView', expiresInMs: 60_000 });
    expect(outcome(await snapshot())).toEqual([200, null]);
  });

  it('refuses remote configuration without a Configuration grant, and again once it is released', async () => {
    await setStatus(SiteStatus.authorizedAndMonitoring);
    const configure = () => client.call<{ code?: string }>('PUT', `/devices/${cameras.door}/cloud-storage/channels/1`, STORAGE_OFF);
    const stored = async () => (await cloud.ctx.db.select().from(cloudStorageChannels).where(eq(cloudStorageChannels.deviceId, cameras.door))).length;
    await grants({ use: 'LiveView' });
    expect(outcome(await configure())).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    expect(await stored()).toBe(0);
    await grants({ use: 'Configuration' });
    expect(outcome(await configure())).toEqual([200, null]);
    expect(await stored()).toBe(1);
    await cloud.ctx.db.update(devicePermissions).set({ status: 'released', releasedAt: new Date() }).where(eq(devicePermissions.siteId, siteId));
    expect(outcome(await configure())).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
    expect(outcome(await client.get(`/devices/${cameras.door}/channels`))).toEqual([403, 'DEVICE_PERMISSION_REQUIRED']);
  });
});

describe('grants running out', () => {
  it('ends an open live window when its grant expires, and keeps one whose grant still holds', async () => {
    expect(sweepIntervalMs(HOUR_MS)).toBeLessThan(HOUR_MS);
    await setStatus(SiteStatus.handedOverNotAuthorized);
    await grants({ use: 'LiveView', expiresInMs: HOUR_MS }, { use: 'LiveView', deviceId: cameras.yard, expiresInMs: null });
    const [grant] = await cloud.ctx.db
      .select({ expiresAt: devicePermissions.expiresAt })
      .from(devicePermissions)
      .where(and(eq(devicePermissions.siteId, siteId), eq(devicePermissions.deviceId, cameras.door)));
    const door = await client.post<{ sessionId: string }>(`/devices/${cameras.door}/video/sessions`, { mode: 'live' });
    const yard = await client.post<{ sessionId: string }>(`/devices/${cameras.yard}/video/sessions`, { mode: 'live' });
    expect([door.status, yard.status]).toEqual([201, 201]);
    const open = async () => (await client.get<VideoSessions>('/video/sessions')).body.items.map((w) => w.sessionId).sort();
    expect(await open()).toEqual([door.body.sessionId, yard.body.sessionId].sort());

    const left = await until(open, (ids) => ids.length === 1, 'the expired window to end', 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(grant!.expiresAt!.getTime());
    expect(left).toEqual([yard.body.sessionId]);
    await until(async () => closed.length, (n) => n >= 1, 'media.close to reach the box');
    expect(outcome(await client.post(`/devices/${cameras.door}/video/sessions`, { mode: 'live' }))).toEqual([403, 'DEVICE_PERMISSION_EXPIRED']);

    expect((await client.delete(`/video/sessions/${yard.body.sessionId}`)).status).toBe(204);
  });
});
