import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnvelope, envelope, shortSerial, topics, type DeviceReport, type DiscoveredDevice } from '@vigil/protocol';
import type { AddLanDevicesResult, Device, LanDevice, LiveEvent } from '@vigil/protocol/api';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers, nonce, publish, until } from '../testing/edge.js';

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

/** An edge box played over MQTT: claimed through the public flow, it publishes LAN snapshots and inventories. */
async function playedEdge(client: ApiClient, siteId: string) {
  const { serial, edge } = await players.claimed(client, siteId);
  return {
    serial,
    lan: (devices: DiscoveredDevice[], at = Date.now()) => publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at, devices }))),
    inventory: (devices: DeviceReport[]) => publish(edge, topics.inventory(serial), encodeEnvelope(envelope('inventory', { devices }))),
  };
}

let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'nvr', model: 'DS-7608NI-K2/8P', firmware: 'V4.30.005', mac: '44:19:b6:00:00:01',
  network: { dhcp: true, ipv4: `10.0.${Math.floor(++ipSeq / 250)}.${ipSeq % 250}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: true, channels: 8, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});
/** A long serial in the Hik layout, so its short form is the last nine digits. */
const longSerial = (model: string) => `${model}20240101AACH${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;

type Refusal = { code: string; message: string };
type Added = AddLanDevicesResult & Refusal;

/** A company with a personal site whose played edge sees an NVR, a camera and an AC router (activated). */
async function lanSetup() {
  const company = await registerCompany(cloud.api);
  const siteId = await newSite(company.client);
  const box = await playedEdge(company.client, siteId);
  const s = { nvr: longSerial('DS-7608NI-K2/8P'), cam: longSerial('DS-2CD2143G2-I'), ac: longSerial('DS-3WR15X') };
  const devices = [
    found(s.nvr),
    found(s.cam, { deviceClass: 'camera', model: 'DS-2CD2143G2-I', httpPort: 8080, channels: 1 }),
    found(s.ac, { deviceClass: 'ac_router', model: 'DS-3WR15X', channels: 0 }),
  ];
  await box.lan(devices);
  const add = (body: Record<string, unknown>, from = siteId) => company.client.post<Added>(`/sites/${from}/onsite/add`, body);
  const siteDevices = async (id = siteId) => (await company.client.get<{ items: Device[] }>(`/sites/${id}/devices`)).body.items;
  return { ...company, siteId, box, s, devices, add, siteDevices };
}

describe('adding LAN devices to a site', () => {
  it('adds activated devices to this site over P2P, online, with their channels', async () => {
    const t = await lanSetup();
    const live: LiveEvent[] = [];
    const unsubscribe = cloud.ctx.hub.subscribe(t.companyId, (e) => live.push(e));

    const res = await t.add({ serials: [t.s.nvr, t.s.cam, t.s.ac] });
    expect(res.status).toBe(201);
    expect(res.body.siteId).toBe(t.siteId);
    const bySerial = new Map(res.body.devices.map((d) => [d.serial, d]));
    expect(bySerial.get(t.s.nvr)).toMatchObject({
      siteId: t.siteId, edgeSerial: t.box.serial, kind: 'nvr', protocol: 'isapi', accessMode: 'p2p', channels: 8, status: 'online',
      model: 'DS-7608NI-K2/8P', name: `DS-7608NI-K2/8P ${shortSerial(t.s.nvr)}`, manufacturer: 'Hikvision',
    });
    expect(bySerial.get(t.s.cam)).toMatchObject({ kind: 'camera', channels: 1, address: `${t.devices[1]!.network.ipv4}:8080`, status: 'online' });
    expect(bySerial.get(t.s.ac)).toMatchObject({ kind: 'router', channels: 0, accessMode: 'p2p' });

    const listed = await t.siteDevices();
    expect(listed.map((d) => d.serial).sort()).toEqual([t.s.nvr, t.s.cam, t.s.ac].sort());
    const lan = await t.client.get<{ items: LanDevice[] }>(`/sites/${t.siteId}/lan`);
    expect(lan.body.items.every((d) => d.siteDeviceId === bySerial.get(d.serial)!.id)).toBe(true);
    expect(lan.body.items.find((d) => d.serial === t.s.nvr)?.channels).toBe(8);
    const history = await t.client.get<{ items: { state: string }[] }>(`/devices/${bySerial.get(t.s.nvr)!.id}/history`);
    expect(history.body.items.map((h) => h.state)).toEqual(['online']);

    expect(live).toEqual(expect.arrayContaining([{ type: 'devices.changed', siteId: t.siteId }, { type: 'lan.changed', siteId: t.siteId }]));
    unsubscribe();
    const logs = await t.client.get<{ items: { content: string; siteId: string; target: string; detail: string }[] }>('/operation-logs');
    expect(logs.body.items.find((l) => l.content.startsWith('Add Device'))).toMatchObject({
      content: 'Add Device Succeeded',
      siteId: t.siteId,
      target: [t.s.nvr, t.s.cam, t.s.ac].join(', '),
    });

    // Added once: a second add names the site it is on.
    const again = await t.add({ serials: [t.s.cam] });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEVICE_ALREADY_ADDED');
    const site = await t.client.get<{ name: string }>(`/sites/${t.siteId}`);
    expect(again.body.message).toContain(`"${site.body.name}"`);
  });

  it('adds to an existing site of the company, and to a new site created with the devices', async () => {
    const t = await lanSetup();
    const other = await newSite(t.client, { type: 'team' });
    const toOther = await t.add({ serials: [t.s.nvr], target: { siteId: other } });
    expect(toOther.status).toBe(201);
    expect(toOther.body).toMatchObject({ siteId: other, devices: [{ serial: t.s.nvr, siteId: other, edgeSerial: t.box.serial }] });
    expect((await t.siteDevices(other)).map((d) => d.serial)).toEqual([t.s.nvr]);
    expect(await t.siteDevices()).toEqual([]);

    const name = `New ${nonce()}`;
    const toNew = await t.add({ serials: [t.s.cam, t.s.ac], target: { newSite: { name, type: 'personal', timeZone: 'Europe/Berlin', city: 'Berlin' } } });
    expect(toNew.status).toBe(201);
    const created = await t.client.get<{ id: string; name: string; type: string; timeZone: string; city: string; deviceCount: number }>(`/sites/${toNew.body.siteId}`);
    expect(created.body).toMatchObject({ name, type: 'personal', timeZone: 'Europe/Berlin', city: 'Berlin', deviceCount: 2 });
    expect(toNew.body.devices.map((d) => d.serial).sort()).toEqual([t.s.cam, t.s.ac].sort());
  });

  it('refuses the new site with the site rules, and creates nothing', async () => {
    const t = await lanSetup();
    const countSites = async () => (await t.client.get<{ total: number }>('/sites')).body.total;
    const before = await countSites();
    const badZone = await t.add({ serials: [t.s.cam], target: { newSite: { name: `X ${nonce()}`, type: 'personal', timeZone: 'Mars/Olympus' } } });
    expect(badZone.status).toBe(400);
    expect(badZone.body.code).toBe('INVALID_TIME_ZONE');
    const taken = (await t.client.get<{ name: string }>(`/sites/${t.siteId}`)).body.name;
    const dup = await t.add({ serials: [t.s.cam], target: { newSite: { name: taken, type: 'personal', timeZone: 'UTC' } } });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('SITE_NAME_TAKEN');
    const shape = await t.add({ serials: [t.s.cam], target: { newSite: { name: 'Y' } } });
    expect(shape.status).toBe(400);
    expect(await countSites()).toBe(before);
    expect(await t.siteDevices()).toEqual([]);
  });

  it('refuses devices it cannot add, each clearly, and adds nothing', async () => {
    const t = await lanSetup();
    const s = { off: longSerial('DS-2CD1'), panel: `AX${nonce()}`, bell: `KB${nonce()}`, intercom: `KV${nonce()}` };
    await t.box.lan([
      ...t.devices,
      found(s.off, { deviceClass: 'camera', activated: false, channels: 1 }),
      found(s.panel, { deviceClass: 'alarm_panel', model: 'DS-PWA64-L-WE', channels: 0 }),
      found(s.bell, { deviceClass: 'doorbell', model: 'DS-KB6003-WIP', channels: 0 }),
      found(s.intercom, { deviceClass: 'intercom', model: 'DS-KV6113-WPE1', channels: 0 }),
    ]);
    const refusal = async (body: Record<string, unknown>, status: number, code: string, from?: string) => {
      const res = await t.add(body, from);
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.code).toBe(code);
      return res.body.message;
    };

    expect(await refusal({ serials: [t.s.nvr, 'NOT-ON-THE-LAN'] }, 404, 'LAN_DEVICE_NOT_FOUND')).toContain('NOT-ON-THE-LAN');
    expect(await refusal({ serials: [t.s.nvr, s.off] }, 409, 'DEVICE_NOT_ACTIVATED')).toContain(s.off);
    const panel = await refusal({ serials: [t.s.nvr, s.panel] }, 422, 'ADD_METHOD_NOT_ALLOWED');
    expect(panel).toMatch(/LAN \(SADP\)/);
    expect(panel).toMatch(/security control panel/);
    expect(panel).toContain(s.panel);
    const bell = await refusal({ serials: [s.bell] }, 422, 'ADD_METHOD_NOT_ALLOWED');
    expect(bell).toMatch(/doorbell/);
    // Table 3-6: a video intercom may be added from the LAN.
    const team = await newSite(t.client, { type: 'team' });
    expect(await refusal({ serials: [t.s.cam, t.s.ac], target: { siteId: team } }, 422, 'AC_ROUTER_TEAM_SITE')).toContain(t.s.ac);
    await refusal({ serials: [t.s.ac], target: { newSite: { name: `T ${nonce()}`, type: 'team', timeZone: 'UTC' } } }, 422, 'AC_ROUTER_TEAM_SITE');
    // Another company's site, or a site this site's edge does not see, is not found.
    const stranger = await registerCompany(cloud.api);
    const theirs = await newSite(stranger.client);
    await refusal({ serials: [t.s.cam], target: { siteId: theirs } }, 404, 'SITE_NOT_FOUND');
    await refusal({ serials: [t.s.cam] }, 404, 'SITE_NOT_FOUND', theirs);
    const quiet = await newSite(t.client);
    await refusal({ serials: [t.s.cam] }, 404, 'LAN_DEVICE_NOT_FOUND', quiet);
    await refusal({ serials: [] }, 400, 'VALIDATION_FAILED');
    await refusal({ serials: [t.s.cam, t.s.cam] }, 400, 'VALIDATION_FAILED');

    expect(await t.siteDevices()).toEqual([]);
    expect(await t.siteDevices(team)).toEqual([]);
    const ok = await t.add({ serials: [s.intercom, t.s.cam], target: { siteId: team } });
    expect(ok.status).toBe(201);
    expect(ok.body.devices.find((d) => d.serial === s.intercom)).toMatchObject({ kind: 'other', channels: 0 });
  });

  it('keeps a personal site at 128 channels at most', async () => {
    const t = await lanSetup();
    const big = [longSerial('DS-9664NI-M8'), longSerial('DS-9664NI-M8')];
    const cams = [longSerial('DS-2CD2043G2-I'), longSerial('DS-2CD2043G2-I')];
    await t.box.lan([
      ...t.devices,
      ...big.map((s) => found(s, { model: 'DS-9664NI-M8', channels: 60 })),
      ...cams.map((s) => found(s, { deviceClass: 'camera', model: 'DS-2CD2043G2-I', channels: 1 })),
    ]);
    // 8 + 60 + 60 = 128: the limit itself is allowed.
    expect((await t.add({ serials: [t.s.nvr, ...big] })).status).toBe(201);
    const over = await t.add({ serials: [t.s.ac, cams[0]!] });
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('SITE_CHANNEL_LIMIT');
    expect(over.body.message).toContain('129');
    expect(over.body.message).toContain('128');
    expect((await t.siteDevices()).map((d) => d.serial).sort()).toEqual([t.s.nvr, ...big].sort());
    // Devices without channels still fit; a team site has no such limit; nor does a new personal site start over the limit.
    expect((await t.add({ serials: [t.s.ac] })).status).toBe(201);
    const team = await newSite(t.client, { type: 'team' });
    expect((await t.add({ serials: [cams[0]!], target: { siteId: team } })).status).toBe(201);
    expect((await t.add({ serials: [cams[1]!], target: { newSite: { name: `P ${nonce()}`, type: 'personal', timeZone: 'UTC' } } })).status).toBe(201);
  });

  it("refuses a device another company has added", async () => {
    const t = await lanSetup();
    const other = await registerCompany(cloud.api);
    const otherSite = await newSite(other.client);
    const otherBox = await playedEdge(other.client, otherSite);
    await otherBox.lan([found(t.s.cam, { deviceClass: 'camera', channels: 1 })]);
    expect((await other.client.post(`/sites/${otherSite}/onsite/add`, { serials: [t.s.cam] })).status).toBe(201);

    const res = await t.add({ serials: [t.s.nvr, t.s.cam] });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('DEVICE_ADDED_TO_ANOTHER_ACCOUNT');
    expect(res.body.message).toMatch(/^This device has been added to another account\./);
    expect(await t.siteDevices()).toEqual([]);
  });

  it('follows the LAN snapshots: online while seen, offline after the delay when missing, online again at once', async () => {
    const t = await lanSetup();
    const other = await newSite(t.client);
    expect((await t.add({ serials: [t.s.nvr, t.s.cam] })).status).toBe(201);
    expect((await t.add({ serials: [t.s.ac], target: { siteId: other } })).status).toBe(201);
    // A camera of the inventory path (ONVIF) does not follow the LAN snapshots.
    await t.box.inventory([
      { deviceId: 'onvif-1', kind: 'camera', protocol: 'onvif', manufacturer: 'Sim', model: 'DS-2CD2143G2-I', serial: 'ONVIF0001', firmware: 'V5', name: 'Door', host: '10.0.0.9', port: 80, online: true, lastSeenAt: Date.now() },
    ]);
    const status = async () => {
      const all = [...(await t.siteDevices()), ...(await t.siteDevices(other))];
      return Object.fromEntries(all.map((d) => [d.serial, d.status]));
    };
    expect(await status()).toEqual({ [t.s.nvr]: 'online', [t.s.cam]: 'online', [t.s.ac]: 'online', ONVIF0001: 'online' });

    // The camera and the AC router (on the other site) drop out of the picture.
    const lostAt = Date.now();
    await t.box.lan([t.devices[0]!], lostAt);
    expect((await status())[t.s.cam]).toBe('online');
    await until(status, (s) => s[t.s.cam] === 'offline' && s[t.s.ac] === 'offline', 'devices offline');
    expect(Date.now() - lostAt).toBeGreaterThanOrEqual(1000);
    expect(await status()).toEqual({ [t.s.nvr]: 'online', [t.s.cam]: 'offline', [t.s.ac]: 'offline', ONVIF0001: 'online' });

    // An older snapshot arriving late changes nothing; a newer one brings the camera back at once.
    await t.box.lan(t.devices, lostAt - 500);
    expect((await status())[t.s.cam]).toBe('offline');
    const live: LiveEvent[] = [];
    const unsubscribe = cloud.ctx.hub.subscribe(t.companyId, (e) => live.push(e));
    await t.box.lan(t.devices, Date.now());
    expect(await status()).toEqual({ [t.s.nvr]: 'online', [t.s.cam]: 'online', [t.s.ac]: 'online', ONVIF0001: 'online' });
    unsubscribe();
    const cam = (await t.siteDevices()).find((d) => d.serial === t.s.cam)!;
    expect(live).toContainEqual(expect.objectContaining({ type: 'device.status', siteId: t.siteId, deviceId: cam.id, status: 'online' }));
    const ac = (await t.siteDevices(other))[0]!;
    expect(live).toContainEqual(expect.objectContaining({ type: 'device.status', siteId: other, deviceId: ac.id, status: 'online' }));
    const history = await t.client.get<{ items: { state: string }[] }>(`/devices/${cam.id}/history`);
    expect(history.body.items.map((h) => h.state)).toEqual(['online', 'offline', 'online']);
  });
});
