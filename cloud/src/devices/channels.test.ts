import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  envelope,
  RpcMethod,
  topics,
  type DiscoveredDevice,
  type NvrChannelsAddParams,
  type RecorderChannel,
  type RecorderChannels,
  type RpcReplyData,
} from '@vigil/protocol';
import type { AddChannelsReply, AddLanDevicesResult, Device, DeviceChannels, LiveEvent } from '@vigil/protocol/api';
import { accounts, deviceDefaults, devices } from '../db/schema.js';
import type { ApiClient} from '../testing/cloud.js';
import { registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { answerCommands, EdgePlayers, nonce, publish, until } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
});
afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

const PASSWORD = 'Install-2026';
type Refusal = { code: string; message: string };

let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7.0', mac: '44:19:b6:00:00:01',
  network: { dhcp: false, ipv4: `10.0.0.${++ipSeq}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: true, channels: 1, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});

const channel = (id: number, ip: string, over: Partial<RecorderChannel> = {}): RecorderChannel => ({
  id, name: `IPCamera ${id}`, ipAddress: ip, port: 80, protocol: 'HIKVISION', online: true, poe: false, ...over,
});

/**
 * A played edge box that sees an NVR and two cameras; it answers the channel RPCs from a recorder it keeps
 * (or as told), recording every call. The NVR is added to the site and the installer's defaults are saved.
 */
async function setup() {
  const company = await registerCompany(cloud.api);
  const site = await company.client.post<{ id: string }>('/sites', { name: `Site ${nonce()}`, type: 'personal', timeZone: 'UTC', offlineDelaySec: 1 });
  expect(site.status).toBe(201);
  const siteId = site.body.id;
  const { serial, edge } = await players.claimed(company.client, siteId);
  const s = { nvr: `NVR${nonce()}`, cam1: `CAM${nonce()}`, cam2: `CAM${nonce()}`, fresh: `NEW${nonce()}` };
  const lan = {
    nvr: found(s.nvr, { deviceClass: 'nvr', model: 'DS-7608NI-K2', httpPort: 8080, channels: 8 }),
    cam1: found(s.cam1),
    cam2: found(s.cam2, { httpPort: 8081 }),
    fresh: found(s.fresh, { activated: false }),
  };
  await publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at: Date.now(), devices: Object.values(lan) })));
  await until(() => company.client.get<{ items: unknown[] }>(`/sites/${siteId}/lan`), (r) => r.body.items.length === 4, 'LAN snapshot');
  const added = await company.client.post<AddLanDevicesResult>(`/sites/${siteId}/onsite/add`, { serials: [s.nvr, s.cam1] });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  const nvr = added.body.devices.find((d) => d.serial === s.nvr)!;
  const camera = added.body.devices.find((d) => d.serial === s.cam1)!;
  expect((await company.client.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: 'VRF2026A' })).status).toBe(200);

  const recorder: RecorderChannels = { maxChannels: 8, sortedOnce: false, channels: [channel(1, lan.cam1.network.ipv4)] };
  const calls: { method: string; params: Record<string, unknown> }[] = [];
  const state = { reply: null as ((method: string) => RpcReplyData | 'silent' | null) | null };
  const answer = (method: string, run: (params: never) => unknown) =>
    answerCommands<Record<string, unknown>>(edge, serial, method, (params) => {
      calls.push({ method, params });
      const told = state.reply?.(method) ?? null;
      if (told === 'silent') return null;
      return told ?? { ok: true, result: run(params as never) };
    });
  await answer(RpcMethod.nvrChannelsList, () => ({ ok: true, recorder }));
  await answer(RpcMethod.nvrChannelsAdd, (p: NvrChannelsAddParams) => {
    const added = p.cameras.map((c) => {
      const id = recorder.channels.length + 1;
      recorder.channels.push(channel(id, c.ipAddress, { port: c.port }));
      return { ipAddress: c.ipAddress, port: c.port, ok: true, channelId: id, code: null, message: `added as channel ${id}` };
    });
    return { ok: true, recorder, added };
  });
  await answer(RpcMethod.nvrChannelsRemove, (p: { channelId: number }) => {
    recorder.channels = recorder.channels.filter((c) => c.id !== p.channelId);
    return { ok: true, recorder };
  });
  await answer(RpcMethod.nvrChannelsOrder, (p: { order: number[] }) => {
    recorder.channels = p.order.map((id) => recorder.channels.find((c) => c.id === id)!);
    recorder.sortedOnce = true;
    return { ok: true, recorder };
  });

  const path = `/devices/${nvr.id}/channels`;
  const device = async () => (await company.client.get<Device>(`/devices/${nvr.id}`)).body;
  return { ...company, siteId, edgeSerial: serial, edge, s, lan, nvr, camera, recorder, calls, state, path, device };
}

async function oplog(client: ApiClient): Promise<string[]> {
  return (await client.get<{ items: { content: string }[] }>('/operation-logs')).body.items.map((l) => l.content);
}

/** An employee of the company with the given permissions. */
const employee = (companyId: string, permissions: string[]) => signInEmployee(cloud, companyId, permissions);

describe('the channels of a site NVR, through its edge box', () => {
  it('lists them with the default device password and keeps the device channel count in step', async () => {
    const t = await setup();
    const live: LiveEvent[] = [];
    const unsubscribe = cloud.ctx.hub.subscribe(t.companyId, (e) => live.push(e));
    expect(t.nvr.channels).toBe(8);

    const r = await t.client.get<DeviceChannels>(t.path);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toEqual({ deviceId: t.nvr.id, maxChannels: 8, sortedOnce: false, channels: [channel(1, t.lan.cam1.network.ipv4)] });
    expect(t.calls).toEqual([
      { method: 'nvr.channels.list', params: { recorder: { serial: t.s.nvr, ip: t.lan.nvr.network.ipv4, httpPort: 8080, password: PASSWORD } } },
    ]);
    // The NVR brings the one channel it has to the site, no longer its 8 slots.
    expect((await t.device()).channels).toBe(1);
    expect(live).toContainEqual({ type: 'devices.changed', siteId: t.siteId });
    unsubscribe();
  });

  it('adds cameras picked from the LAN and one camera by address, and logs it', async () => {
    const t = await setup();
    const picked = await t.client.post<AddChannelsReply>(t.path, { serials: [t.s.cam2] });
    expect(picked.status, JSON.stringify(picked.body)).toBe(200);
    expect(picked.body.results).toEqual([
      { camera: t.s.cam2, ipAddress: t.lan.cam2.network.ipv4, port: 8081, ok: true, channelId: 2, code: null, message: 'added as channel 2' },
    ]);
    expect(picked.body.channels.channels.map((c) => c.id)).toEqual([1, 2]);
    const add = t.calls.find((c) => c.method === 'nvr.channels.add')!;
    expect(add.params.cameras).toEqual([{ serial: t.s.cam2, ipAddress: t.lan.cam2.network.ipv4, port: 8081, username: 'admin', password: PASSWORD }]);
    expect((await t.device()).channels).toBe(2);

    const byAddress = await t.client.post<AddChannelsReply>(t.path, { address: { ipAddress: '192.168.1.64', port: 80, username: 'viewer', password: 'Cam-pass-1', name: 'Door' } });
    expect(byAddress.status, JSON.stringify(byAddress.body)).toBe(200);
    expect(byAddress.body.results[0]).toMatchObject({ camera: '192.168.1.64:80', ok: true, channelId: 3 });
    expect(t.calls.filter((c) => c.method === 'nvr.channels.add').at(-1)!.params.cameras).toEqual([
      { ipAddress: '192.168.1.64', port: 80, username: 'viewer', password: 'Cam-pass-1', name: 'Door' },
    ]);
    expect((await t.device()).channels).toBe(3);
    expect(await oplog(t.client)).toContain('Add Channel Succeeded');
  });

  it('deletes a channel and saves a new order', async () => {
    const t = await setup();
    await t.client.post(t.path, { serials: [t.s.cam2] });
    const sorted = await t.client.call<DeviceChannels>('PUT', `${t.path}/order`, { order: [2, 1] });
    expect(sorted.status, JSON.stringify(sorted.body)).toBe(200);
    expect(sorted.body).toMatchObject({ sortedOnce: true, channels: [{ id: 2 }, { id: 1 }] });
    expect(t.calls.at(-1)).toMatchObject({ method: 'nvr.channels.order', params: { order: [2, 1] } });

    const removed = await t.client.delete<DeviceChannels>(`${t.path}/1`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.channels.map((c) => c.id)).toEqual([2]);
    expect(t.calls.at(-1)).toMatchObject({ method: 'nvr.channels.remove', params: { channelId: 1 } });
    expect((await t.device()).channels).toBe(1);
    const log = await oplog(t.client);
    expect(log).toContain('Sort Channels Succeeded');
    expect(log).toContain('Delete Channel Succeeded');
  });

  it("refuses an add beyond the personal site's 128 channels, before asking the recorder", async () => {
    const t = await setup();
    await cloud.ctx.db.update(devices).set({ channels: 127 }).where(eq(devices.id, t.camera.id));
    const r = await t.client.post<Refusal>(t.path, { serials: [t.s.cam2] });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('SITE_CHANNEL_LIMIT');
    expect(r.body.message).toContain('128 channels');
    expect(t.calls.map((c) => c.method)).toEqual(['nvr.channels.list']);
  });

  it("passes on the recorder's and the cameras' refusals with their codes", async () => {
    const t = await setup();
    t.state.reply = (m) => (m === 'nvr.channels.list' ? { ok: true, result: { ok: false, code: 'DEVICE_LOGIN_FAILED', message: 'The recorder refused the login.' } } : null);
    const login = await t.client.get<Refusal>(t.path);
    expect([login.status, login.body.code, login.body.message]).toEqual([409, 'DEVICE_LOGIN_FAILED', 'The recorder refused the login.']);

    const outcome = (ok: boolean, code: string | null, message: string) => ({ ipAddress: t.lan.cam2.network.ipv4, port: 8081, ok, channelId: ok ? 2 : null, code, message });
    t.state.reply = (m) =>
      m === 'nvr.channels.add' ? { ok: true, result: { ok: true, recorder: t.recorder, added: [outcome(false, 'CAMERA_LOGIN_REFUSED', 'wrong user name or password')] } } : null;
    const refused = await t.client.post<Refusal>(t.path, { serials: [t.s.cam2], password: 'Not-it-2026' });
    expect([refused.status, refused.body.code, refused.body.message]).toEqual([422, 'CAMERA_LOGIN_REFUSED', 'wrong user name or password']);
    expect(t.calls.at(-1)!.params.cameras).toMatchObject([{ password: 'Not-it-2026' }]);

    t.state.reply = (m) => (m === 'nvr.channels.add' ? { ok: true, result: { ok: false, code: 'NVR_CHANNEL_LIMIT', message: 'All 8 channels are in use.' } } : null);
    expect((await t.client.post<Refusal>(t.path, { serials: [t.s.cam2] })).body.code).toBe('NVR_CHANNEL_LIMIT');

    t.state.reply = (m) => (m === 'nvr.channels.remove' ? { ok: false, error: { code: 'RPC_FAILED', message: 'boom' } } : null);
    const failed = await t.client.delete<Refusal>(`${t.path}/1`);
    expect([failed.status, failed.body.code]).toEqual([502, 'RPC_FAILED']);

    t.state.reply = () => 'silent';
    const silent = await t.client.get<Refusal>(t.path);
    expect([silent.status, silent.body.code]).toEqual([504, 'RPC_TIMEOUT']);
  });

  it('refuses what the request gets wrong: both ways of adding, a device that is not a camera, an unactivated camera', async () => {
    const t = await setup();
    const both = await t.client.post<Refusal>(t.path, { serials: [t.s.cam2], address: { ipAddress: '10.1.1.1', port: 80, username: 'admin', password: 'x' } });
    expect([both.status, both.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    const badIp = await t.client.post<Refusal>(t.path, { address: { ipAddress: '10.1.1', port: 80, username: 'admin', password: 'x' } });
    expect([badIp.status, badIp.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await t.client.post<Refusal>(t.path, { serials: [t.s.nvr] })).body.code).toBe('NOT_A_CAMERA');
    expect((await t.client.post<Refusal>(t.path, { serials: [t.s.fresh] })).body.code).toBe('DEVICE_NOT_ACTIVATED');
    expect((await t.client.post<Refusal>(t.path, { serials: ['CAMNOWHERE1'] })).body.code).toBe('LAN_DEVICE_NOT_FOUND');
    expect(t.calls).toEqual([]);
  });

  it('refuses another company, a missing permission, a camera, a device without edge box, missing defaults and an offline edge box', async () => {
    const t = await setup();
    const stranger = await registerCompany(cloud.api);
    for (const r of [
      await stranger.client.get<Refusal>(t.path),
      await stranger.client.post<Refusal>(t.path, { serials: [t.s.cam2] }),
      await stranger.client.delete<Refusal>(`${t.path}/1`),
      await stranger.client.call<Refusal>('PUT', `${t.path}/order`, { order: [1] }),
    ]) {
      expect([r.status, r.body.code]).toEqual([404, 'DEVICE_NOT_FOUND']);
    }

    // Each installer's own default device password opens the recorder.
    const viewer = await employee(t.companyId, ['site.manage_all']);
    expect((await viewer.get<Refusal>(t.path)).body.code).toBe('NO_DEVICE_DEFAULTS');
    expect((await viewer.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: '' })).status).toBe(200);
    expect((await viewer.get(t.path)).status).toBe(200);
    for (const r of [
      await viewer.post<Refusal>(t.path, { serials: [t.s.cam2] }),
      await viewer.delete<Refusal>(`${t.path}/1`),
      await viewer.call<Refusal>('PUT', `${t.path}/order`, { order: [1] }),
    ]) {
      expect([r.status, r.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    }

    const cam = await t.client.get<Refusal>(`/devices/${t.camera.id}/channels`);
    expect([cam.status, cam.body.code]).toEqual([409, 'NOT_A_RECORDER']);

    const [own] = await cloud.ctx.db
      .insert(devices)
      .values({
        companyId: t.companyId, siteId: t.siteId, edgeSerial: null, deviceKey: `P2P${nonce()}`, kind: 'nvr', protocol: 'isapi', manufacturer: 'Hikvision',
        model: 'DS-7616NI-K2', serial: `P2P${nonce()}`, firmware: 'V4.30', name: 'Office NVR', host: '', port: 0, channels: 16,
        reportedOnline: true, reportedAt: new Date(), status: 'online',
      })
      .returning();
    const p2p = await t.client.get<Refusal>(`/devices/${own!.id}/channels`);
    expect([p2p.status, p2p.body.code]).toEqual([409, 'DEVICE_WITHOUT_EDGE_BOX']);
    expect(p2p.body.message).toContain('Office NVR');

    const [account] = await cloud.ctx.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.email, t.email));
    await cloud.ctx.db.delete(deviceDefaults).where(eq(deviceDefaults.accountId, account!.id));
    const noDefaults = await t.client.get<Refusal>(t.path);
    expect([noDefaults.status, noDefaults.body.code]).toEqual([409, 'NO_DEVICE_DEFAULTS']);

    await t.edge.endAsync(true);
    await until(() => Promise.resolve(cloud.ctx.tunnel.isConnected(t.edgeSerial)), (c) => !c, 'the edge box disconnected');
    const offline = await t.client.get<Refusal>(t.path);
    expect([offline.status, offline.body.code]).toEqual([409, 'EDGE_OFFLINE']);
    // Only the viewer's list reached the edge box.
    expect(t.calls.map((c) => c.method)).toEqual(['nvr.channels.list']);
  });
});
