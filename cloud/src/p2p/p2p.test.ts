import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, type P2pInfoData } from '@vigil/protocol';
import type { Device, ErrorReply } from '@vigil/protocol/api';
import { ApiClient, registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers, publish, until } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let teamSite: string;
let personalSite: string;

const nvr = (serial: string): P2pInfoData => ({ serial, deviceClass: 'nvr', model: 'DS-7608NXI-K2', firmware: 'V4.61.005', name: 'Back office NVR', channels: 8 });

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api);
  teamSite = (await installer.client.post<{ id: string }>('/sites', { name: 'Depot', type: 'team', timeZone: 'Europe/London', offlineDelaySec: 1 })).body.id;
  personalSite = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 4', type: 'personal', timeZone: 'Europe/London', offlineDelaySec: 1 })).body.id;
});

afterAll(async () => {
  await players?.closeAll();
  await cloud?.stop();
});

const addBySerial = (client: ApiClient, siteId: string, body: Record<string, unknown>) => client.post<Device & ErrorReply>(`/sites/${siteId}/devices/by-serial`, body);
const devicesOf = async (siteId: string) => (await installer.client.get<{ items: Device[] }>(`/sites/${siteId}/devices`)).body.items;

describe('adding a device by serial number and verification code (scenario 7)', () => {
  it('adds a device connected to the platform by its long serial, online over P2P, and follows its connection', async () => {
    const long = 'DS-7608NXI-K220240101AACHE23456789';
    const device = await players.p2pDevice('E23456789', 'QWERTY', nvr(long));

    const added = await addBySerial(installer.client, teamSite, { serial: long, verificationCode: 'QWERTY' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ serial: long, edgeSerial: null, accessMode: 'p2p', status: 'online', channels: 8, model: 'DS-7608NXI-K2' });
    expect(added.body.features).toEqual({ handover: true, remoteConfiguration: true, healthMonitoring: true });

    // Its presence follows its own connection, with the site's offline delay.
    await device.endAsync(true);
    await until(() => devicesOf(teamSite), (l) => l.find((d) => d.id === added.body.id)?.status === 'offline', 'the device offline');
    await players.p2pDevice('E23456789', 'QWERTY', nvr(long));
    await until(() => devicesOf(teamSite), (l) => l.find((d) => d.id === added.body.id)?.status === 'online', 'the device back online');

    // Once on a site, a connection under its serial with another code is refused.
    await expect(players.p2pDevice('E23456789', 'OTHER1', nvr(long))).rejects.toThrow(/Bad username or password|Not authorized/i);
  });

  it('refuses a wrong or missing code, an unknown serial and a device not connected, adding nothing', async () => {
    await players.p2pDevice('F11122233', 'ABCDEF', { ...nvr('DS-2CD2143G2-I20240101AACHF111222333'), deviceClass: 'camera', model: 'DS-2CD2143G2-I', channels: 1 });
    const before = (await devicesOf(teamSite)).length;

    const wrong = await addBySerial(installer.client, teamSite, { serial: 'F11122233', verificationCode: 'ABCDEG' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('VERIFICATION_CODE_INVALID');
    const missing = await addBySerial(installer.client, teamSite, { serial: 'F11122233' });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('VERIFICATION_CODE_REQUIRED');
    const bad = await addBySerial(installer.client, teamSite, { serial: 'ABC', verificationCode: 'ABCDEF' });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('SERIAL_INVALID');
    const absent = await addBySerial(installer.client, teamSite, { serial: 'Z99999999', verificationCode: 'ABCDEF' });
    expect(absent.status).toBe(409);
    expect(absent.body.code).toBe('DEVICE_NOT_CONNECTED');
    expect(await devicesOf(teamSite)).toHaveLength(before);

    // The right code still works after wrong ones.
    expect((await addBySerial(installer.client, teamSite, { serial: 'F11122233', verificationCode: 'ABCDEF' })).status).toBe(201);
  });

  it('adds an AX HOME, which has no verification code, from the mobile app only', async () => {
    await players.p2pDevice('H55566677', null, { serial: 'H55566677', deviceClass: 'alarm_panel', model: 'DS-PHA20-W2P', firmware: 'V1.2.0', name: 'AX HOME', channels: 0 });
    const portal = await addBySerial(installer.client, personalSite, { serial: 'H55566677' });
    expect(portal.status).toBe(422);
    expect(portal.body.code).toBe('VERIFICATION_CODE_REQUIRED');
    expect(portal.body.message).toMatch(/mobile app/);

    const token = await installer.client.post<{ token: string }>('/auth/token', { email: installer.email, password: installer.password, client: 'mobile' });
    const mobile = new ApiClient(cloud.api, { authorization: `Bearer ${token.body.token}` });
    const added = await addBySerial(mobile, personalSite, { serial: 'H55566677' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ kind: 'alarm_panel', accessMode: 'p2p' });
  });

  it('adds an AC router by serial alone, to a personal site only', async () => {
    await players.p2pDevice('R12312312', null, { serial: 'DS-3WR15X20240101AAWRR12312312', deviceClass: 'ac_router', model: 'DS-3WR15X', firmware: 'V1.0', name: 'AC', channels: 0 });
    const team = await addBySerial(installer.client, teamSite, { serial: 'R12312312' });
    expect(team.status).toBe(422);
    expect(team.body.code).toBe('AC_ROUTER_TEAM_SITE');
    const personal = await addBySerial(installer.client, personalSite, { serial: 'DS-3WR15X20240101AAWRR12312312' });
    expect(personal.status).toBe(201);
    expect(personal.body.kind).toBe('router');
  });

  it('refuses a device another company has added, and one this company has on a site', async () => {
    const other = await registerCompany(cloud.api);
    const otherSite = (await other.client.post<{ id: string }>('/sites', { name: 'Elsewhere', type: 'team', timeZone: 'Europe/London' })).body.id;
    const taken = await addBySerial(other.client, otherSite, { serial: 'F11122233', verificationCode: 'ABCDEF' });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('DEVICE_ADDED_TO_ANOTHER_ACCOUNT');
    const again = await addBySerial(installer.client, personalSite, { serial: 'F11122233', verificationCode: 'ABCDEF' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DEVICE_ALREADY_ADDED');
    // Another company's site is not found at all.
    expect((await addBySerial(other.client, teamSite, { serial: 'F11122233', verificationCode: 'ABCDEF' })).status).toBe(404);
  });

  it('keeps the 128-channel limit of a personal site', async () => {
    const big = await registerCompany(cloud.api);
    const flat = (await big.client.post<{ id: string }>('/sites', { name: 'Big flat', type: 'personal', timeZone: 'Europe/London' })).body.id;
    await players.p2pDevice('N00000064', 'CODE64', { ...nvr('N00000064'), channels: 64 });
    await players.p2pDevice('N00000065', 'CODE65', { ...nvr('N00000065'), channels: 64 });
    await players.p2pDevice('N00000066', 'CODE66', { ...nvr('N00000066'), channels: 1 });
    expect((await addBySerial(big.client, flat, { serial: 'N00000064', verificationCode: 'CODE64' })).status).toBe(201);
    expect((await addBySerial(big.client, flat, { serial: 'N00000065', verificationCode: 'CODE65' })).status).toBe(201);
    const over = await addBySerial(big.client, flat, { serial: 'N00000066', verificationCode: 'CODE66' });
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('SITE_CHANNEL_LIMIT');
  });

  it('lets a device publish only its own info', async () => {
    const device = await players.p2pDevice('P00000001', 'CODE01', nvr('P00000001'));
    const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
    // Never acknowledged: the connection is dropped instead.
    void publish(device, topics.p2pInfo('P00000002'), '{}').catch(() => undefined);
    await closed;
    expect(device.connected).toBe(false);
  });
});
