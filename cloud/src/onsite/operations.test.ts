import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeEnvelope,
  envelope,
  topics,
  type DiscoveredDevice,
  type LanOperateParams,
  type LanOperateResult,
} from '@vigil/protocol';
import type { LanOperationReply, LiveEvent } from '@vigil/protocol/api';
import { newSite, registerCompany, startTestCloud, type ApiClient, type TestCloud } from '../testing/cloud.js';
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

type Answer = { ok: true; result?: LanOperateResult } | { ok: false; code: string; message: string } | 'silent';

/**
 * An edge box played over MQTT: claimed through the public flow, it listens for commands, records each
 * `lan.operate` call, answers as told, and publishes LAN snapshots and progress reports.
 */
async function playedEdge(client: ApiClient, siteId: string) {
  const { serial, edge } = await players.claimed(client, siteId);
  const calls: LanOperateParams[] = [];
  const state = { answer: { ok: true } as Answer };
  await answerCommands<LanOperateParams>(edge, serial, 'lan.operate', (params) => {
    calls.push(params);
    const a = state.answer;
    if (a === 'silent') return null;
    return a.ok
      ? { ok: true, result: a.result ?? { results: params.devices.map((d) => ({ serial: d.serial, ok: true, message: 'done' })) } }
      : { ok: false, error: { code: a.code, message: a.message } };
  });

  return {
    serial,
    edge,
    calls,
    answer(a: Answer) {
      state.answer = a;
    },
    lan: (devices: DiscoveredDevice[], at = Date.now()) => publish(edge, topics.lan(serial), encodeEnvelope(envelope('lan', { at, devices }))),
  };
}

let ipSeq = 10;
const found = (serial: string, over: Partial<DiscoveredDevice> = {}): DiscoveredDevice => ({
  serial, deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7.0', mac: '44:19:b6:00:00:01',
  network: { dhcp: false, ipv4: `10.0.0.${++ipSeq}`, mask: '255.255.255.0', gateway: '10.0.0.1', dns: '10.0.0.1' },
  httpPort: 80, activated: true, channels: 1, pingMs: 12, via: 'sadp', lastSeenAt: Date.now(), ...over,
});

type Refusal = { code: string; message: string };
const PASSWORD = 'Install-2026';

/** A company with a site whose played edge sees an NVR and a camera (activated) and a new camera. */
async function lanSetup() {
  const company = await registerCompany(cloud.api);
  const siteId = await newSite(company.client);
  const box = await playedEdge(company.client, siteId);
  const s = { nvr: `NVR${nonce()}`, cam: `CAM${nonce()}`, fresh: `NEW${nonce()}`, other: `OTH${nonce()}` };
  const devices = {
    nvr: found(s.nvr, { deviceClass: 'nvr', model: 'DS-7608NI-K2/8P', httpPort: 8080 }),
    cam: found(s.cam),
    fresh: found(s.fresh, { activated: false }),
    other: found(s.other),
  };
  await box.lan(Object.values(devices));
  await until(() => company.client.get<{ items: unknown[] }>(`/sites/${siteId}/lan`), (r) => r.body.items.length === 4, 'LAN snapshot');
  const operate = (body: Record<string, unknown>) => company.client.post<LanOperationReply & Refusal>(`/sites/${siteId}/onsite/operations`, body);
  return { ...company, siteId, box, s, devices, operate };
}

async function oplogActions(client: ApiClient): Promise<string[]> {
  return (await client.get<{ items: { content: string }[] }>('/operation-logs')).body.items.map((l) => l.content);
}

describe('operating LAN devices through the edge box', () => {
  it('reboots devices with the given password and answers with the edge results', async () => {
    const t = await lanSetup();
    const live: LiveEvent[] = [];
    const unsubscribe = cloud.ctx.hub.subscribe(t.companyId, (e) => live.push(e));
    t.box.answer({ ok: true, result: { results: [{ serial: t.s.nvr, ok: true, message: 'rebooting' }, { serial: t.s.cam, ok: false, message: 'the device refused the login: wrong password' }] } });
    const r = await t.operate({ operation: 'reboot', serials: [t.s.nvr, t.s.cam], password: PASSWORD });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.results).toEqual([
      { serial: t.s.nvr, ok: true, message: 'rebooting' },
      { serial: t.s.cam, ok: false, message: 'the device refused the login: wrong password' },
    ]);
    expect(t.box.calls).toEqual([
      {
        operation: 'reboot',
        password: PASSWORD,
        devices: [
          { serial: t.s.nvr, ip: t.devices.nvr.network.ipv4, httpPort: 8080 },
          { serial: t.s.cam, ip: t.devices.cam.network.ipv4, httpPort: 80 },
        ],
      },
    ]);
    expect(live.some((e) => e.type === 'lan.changed' && e.siteId === t.siteId)).toBe(true);
    unsubscribe();
    expect(await oplogActions(t.client)).toContain('Reboot Device Succeeded');
  });

  it('restores a device with the saved default password', async () => {
    const t = await lanSetup();
    expect((await t.client.call('PUT', '/me/device-defaults', { password: PASSWORD, verificationCode: 'VRF2026A' })).status).toBe(200);
    const r = await t.operate({ operation: 'restore', serials: [t.s.cam], useDefaults: true });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.results).toEqual([{ serial: t.s.cam, ok: true, message: 'done' }]);
    expect(t.box.calls).toEqual([{ operation: 'restore', password: PASSWORD, devices: [{ serial: t.s.cam, ip: t.devices.cam.network.ipv4, httpPort: 80 }] }]);
    expect(await oplogActions(t.client)).toContain('Restore Device Succeeded');
  });

  it('edits the network of each device with its own settings', async () => {
    const t = await lanSetup();
    const r = await t.operate({
      operation: 'editNetwork',
      serials: [t.s.nvr, t.s.cam],
      password: PASSWORD,
      networks: {
        [t.s.nvr]: { dhcp: true, ipv4: 'ignored' },
        [t.s.cam]: { dhcp: false, ipv4: '192.168.7.20', mask: '255.255.254.0', gateway: '192.168.6.1', dns: '8.8.8.8' },
      },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(t.box.calls[0]!.devices).toEqual([
      { serial: t.s.nvr, ip: t.devices.nvr.network.ipv4, httpPort: 8080, network: { dhcp: true } },
      { serial: t.s.cam, ip: t.devices.cam.network.ipv4, httpPort: 80, network: { dhcp: false, ipv4: '192.168.7.20', mask: '255.255.254.0', gateway: '192.168.6.1', dns: '8.8.8.8' } },
    ]);
    // A device may keep its own address; no gateway is fine.
    const same = await t.operate({ operation: 'editNetwork', serials: [t.s.cam], password: PASSWORD, networks: { [t.s.cam]: { dhcp: false, ipv4: t.devices.cam.network.ipv4, mask: '255.255.255.0' } } });
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    expect(await oplogActions(t.client)).toContain('Edit Device Network Succeeded');
  });

  it('refuses unknown, unactivated devices and missing passwords, changing nothing', async () => {
    const t = await lanSetup();
    const expectRefused = async (body: Record<string, unknown>, status: number, code: string, mention?: string) => {
      const r = await t.operate(body);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body.code).toBe(code);
      if (mention) expect(r.body.message).toContain(mention);
    };
    await expectRefused({ operation: 'reboot', serials: [t.s.cam, 'NOPE123'], password: PASSWORD }, 404, 'LAN_DEVICE_NOT_FOUND', 'NOPE123');
    await expectRefused({ operation: 'restore', serials: [t.s.cam, t.s.fresh], password: PASSWORD }, 409, 'DEVICE_NOT_ACTIVATED', t.s.fresh);
    await expectRefused({ operation: 'reboot', serials: [t.s.cam] }, 400, 'VALIDATION_FAILED');
    await expectRefused({ operation: 'reboot', serials: [t.s.cam], useDefaults: true }, 400, 'NO_DEVICE_DEFAULTS');
    await expectRefused({ operation: 'reboot', serials: [t.s.cam], useDefaults: true, password: PASSWORD }, 400, 'VALIDATION_FAILED');
    await expectRefused({ operation: 'reboot', serials: [t.s.cam], password: PASSWORD, networks: { [t.s.cam]: { dhcp: true } } }, 400, 'VALIDATION_FAILED');
    await expectRefused({ operation: 'shutdown', serials: [t.s.cam], password: PASSWORD }, 400, 'VALIDATION_FAILED');
    expect(t.box.calls).toHaveLength(0);
    const actions = await oplogActions(t.client);
    expect(actions.filter((a) => a === 'Reboot Device Failed')).toHaveLength(5);
    expect(actions).toContain('Restore Device Failed');
  });

  it('refuses invalid network settings, naming the device and the field', async () => {
    const t = await lanSetup();
    const edit = (networks: Record<string, unknown>, serials = [t.s.nvr, t.s.cam]) => t.operate({ operation: 'editNetwork', serials, password: PASSWORD, networks });
    const fixed = (ipv4: string, over: Record<string, unknown> = {}) => ({ dhcp: false, ipv4, mask: '255.255.255.0', gateway: '192.168.1.1', ...over });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ [t.s.nvr]: { dhcp: true } }, t.s.cam, 'no network settings'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: { dhcp: true }, [t.s.other]: { dhcp: true } }, t.s.other, 'not in the request'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: { dhcp: false } }, `${t.s.cam}: ipv4`, 'required'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.300') }, `${t.s.cam}: ipv4`, 'not a valid IPv4'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { mask: '255.255.255.1' }) }, `${t.s.cam}: mask`, 'recommended'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { mask: undefined }) }, `${t.s.cam}: mask`, 'required'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.255') }, `${t.s.cam}: ipv4`, 'broadcast'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { gateway: '192.168.2.1' }) }, `${t.s.cam}: gateway`, 'not in the subnet'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { gateway: 'router' }) }, `${t.s.cam}: gateway`, 'not a valid IPv4'],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { dns: '1.2.3' }) }, `${t.s.cam}: dns`, 'not a valid IPv4'],
      [{ [t.s.nvr]: fixed('192.168.1.20'), [t.s.cam]: fixed('192.168.1.20') }, `${t.s.cam}: ipv4`, `already the address of ${t.s.nvr}`],
      [{ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed(t.devices.other.network.ipv4, { gateway: '10.0.0.1' }) }, `${t.s.cam}: ipv4`, `already the address of ${t.s.other}`],
    ];
    for (const [networks, who, why] of cases) {
      const r = await edit(networks);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.code).toBe('INVALID_NETWORK_SETTINGS');
      expect(r.body.message).toContain(who);
      expect(r.body.message).toContain(why);
    }
    // The subnet sizes of the recommended list are honoured: a /23 gateway in the other half is inside.
    const wide = await edit({ [t.s.nvr]: { dhcp: true }, [t.s.cam]: fixed('192.168.1.20', { mask: '255.255.254.0', gateway: '192.168.0.1' }) });
    expect(wide.status, JSON.stringify(wide.body)).toBe(200);
    expect(t.box.calls).toHaveLength(1);
    const actions = await oplogActions(t.client);
    expect(actions.filter((a) => a === 'Edit Device Network Failed')).toHaveLength(cases.length);
  });

  it("refuses another company's site, split devices and an offline edge; passes on edge failures", async () => {
    const t = await lanSetup();
    const other = await registerCompany(cloud.api);
    const foreign = await other.client.post<Refusal>(`/sites/${t.siteId}/onsite/operations`, { operation: 'reboot', serials: [t.s.cam], password: PASSWORD });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('SITE_NOT_FOUND');

    const second = await playedEdge(t.client, t.siteId);
    const far = `FAR${nonce()}`;
    await second.lan([found(far)]);
    await until(() => t.client.get<{ items: unknown[] }>(`/sites/${t.siteId}/lan`), (r) => r.body.items.length === 5, 'second snapshot');
    const split = await t.operate({ operation: 'reboot', serials: [t.s.cam, far], password: PASSWORD });
    expect(split.status).toBe(400);
    expect(split.body.code).toBe('DEVICES_ON_SEVERAL_EDGES');
    expect(split.body.message).toContain(second.serial);

    t.box.answer({ ok: false, code: 'RPC_FAILED', message: 'out of order' });
    const refused = await t.operate({ operation: 'reboot', serials: [t.s.cam], password: PASSWORD });
    expect(refused.status).toBe(502);
    expect(refused.body.message).toContain('out of order');

    await t.box.edge.endAsync();
    await until(() => t.client.get<{ connected: boolean }>(`/edges/${t.box.serial}`), (r) => !r.body.connected, 'disconnected');
    const offline = await t.operate({ operation: 'reboot', serials: [t.s.cam], password: PASSWORD });
    expect(offline.status).toBe(409);
    expect(offline.body.code).toBe('EDGE_OFFLINE');
    expect(t.box.calls).toHaveLength(1);
    expect(second.calls).toHaveLength(0);
  });
});

describe('switch VLANs through the edge box', () => {
  /** lanSetup's LAN plus two switches and an AC router. */
  async function switchSetup() {
    const t = await lanSetup();
    const sw = { a: `SWA${nonce()}`, b: `SWB${nonce()}`, ac: `ACR${nonce()}` };
    await t.box.lan([
      ...Object.values(t.devices),
      found(sw.a, { deviceClass: 'switch', model: 'DS-3E1510P-SI' }),
      found(sw.b, { deviceClass: 'switch', model: 'DS-3E0510P-E' }),
      found(sw.ac, { deviceClass: 'ac_router', model: 'DS-3WR15X' }),
    ]);
    await until(() => t.client.get<{ items: unknown[] }>(`/sites/${t.siteId}/lan`), (r) => r.body.items.length === 7, 'switches seen');
    return { ...t, sw };
  }

  const batch = { addVlans: [20, 30], ports: [{ port: 3, mode: 'ACCESS', pvid: 20 }, { port: 8, mode: 'TRUNK', pvid: 1, allowedVlans: [1, 20, 30] }] };

  it('sends one batch to the switches and answers with each switch result', async () => {
    const t = await switchSetup();
    t.box.answer({
      ok: true,
      result: {
        results: [
          { serial: t.sw.a, ok: true, message: 'VLANs 20, 30 added' },
          { serial: t.sw.b, ok: false, message: 'the device refused: port 8 is in aggregation group 1' },
        ],
      },
    });
    const r = await t.operate({ operation: 'vlan', serials: [t.sw.a, t.sw.b], password: PASSWORD, vlan: batch });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.results.map((x) => x.ok)).toEqual([true, false]);
    expect(t.box.calls).toHaveLength(1);
    expect(t.box.calls[0]).toMatchObject({ operation: 'vlan', password: PASSWORD, vlan: batch });
    expect(t.box.calls[0]!.devices.map((d) => d.serial)).toEqual([t.sw.a, t.sw.b]);
    const actions = await oplogActions(t.client);
    expect(actions).toContain('Configure Switch VLAN Succeeded');
  });

  it('refuses devices that are not switches and VLAN ids no switch takes, sending nothing', async () => {
    const t = await switchSetup();
    const vlan = (v: Record<string, unknown>) => t.operate({ operation: 'vlan', serials: [t.sw.a], password: PASSWORD, vlan: { addVlans: [], ports: [], ...v } });
    const notSwitch = await t.operate({ operation: 'vlan', serials: [t.sw.a, t.sw.ac, t.s.cam], password: PASSWORD, vlan: batch });
    expect(notSwitch.status).toBe(422);
    expect(notSwitch.body.code).toBe('OPERATION_NOT_FOR_DEVICE_TYPE');
    expect(notSwitch.body.message).toContain(`${t.sw.ac} and ${t.s.cam} are not switches`);

    const cases: [Record<string, unknown>, string][] = [
      [{ addVlans: [4095] }, 'VLAN 4095 is reserved'],
      [{ addVlans: [1] }, 'VLAN 1 is the default VLAN'],
      [{ addVlans: [0] }, 'from 2 to 4094'],
      [{ addVlans: [4096] }, 'from 2 to 4094'],
      [{ addVlans: [20, 20] }, 'VLAN 20 is given twice'],
      [{ ports: [{ port: 3, mode: 'ACCESS', pvid: 4095 }] }, 'port 3: VLAN 4095 is reserved'],
      [{ ports: [{ port: 3, mode: 'ACCESS', pvid: 20, allowedVlans: [20] }] }, 'allowed VLANs are for TRUNK ports'],
      [{ ports: [{ port: 3, mode: 'TRUNK', pvid: 1, allowedVlans: [20] }] }, 'must be one of its allowed VLANs'],
      [{ ports: [{ port: 3, mode: 'ACCESS', pvid: 1 }, { port: 3, mode: 'ACCESS', pvid: 1 }] }, 'port 3 is given twice'],
      [{}, 'nothing to change'],
    ];
    for (const [v, why] of cases) {
      const r = await vlan(v);
      expect(r.status, JSON.stringify(v)).toBe(422);
      expect(r.body.code).toBe('INVALID_VLAN_SETTINGS');
      expect(r.body.message).toContain(why);
    }
    const missing = await t.operate({ operation: 'vlan', serials: [t.sw.a], password: PASSWORD });
    expect(missing.status).toBe(422);
    expect(missing.body.code).toBe('INVALID_VLAN_SETTINGS');
    const elsewhere = await t.operate({ operation: 'reboot', serials: [t.sw.a], password: PASSWORD, vlan: batch });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.code).toBe('VALIDATION_FAILED');

    expect(t.box.calls).toHaveLength(0);
    const actions = await oplogActions(t.client);
    expect(actions.filter((a) => a === 'Configure Switch VLAN Failed')).toHaveLength(cases.length + 2);
  });
});
