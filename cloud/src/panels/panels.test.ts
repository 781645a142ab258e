import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlarmPanel, type AlarmPanelOptions } from '@vigil/simulators';
import type { Device, ErrorReply, OperationLogList, PanelOperationReply, PanelStatus } from '@vigil/protocol/api';
import { arcPanels, devices, p2pDevices } from '../db/schema.js';
import { ApiClient, registerCompany, signInEmployee, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers, until } from '../testing/edge.js';

let cloud: TestCloud;
let players: EdgePlayers;
let installer: Awaited<ReturnType<typeof registerCompany>>;
let site: string;
const running: AlarmPanel[] = [];

beforeAll(async () => {
  cloud = await startTestCloud();
  players = new EdgePlayers(cloud.mqttUrl);
  installer = await registerCompany(cloud.api);
  site = (await installer.client.post<{ id: string }>('/sites', { name: 'Flat 9', type: 'personal', timeZone: 'Europe/London' })).body.id;
});

afterAll(async () => {
  await Promise.all(running.map((p) => p.stop()));
  await players?.closeAll();
  await cloud?.stop();
});

interface Placed {
  panel: AlarmPanel;
  deviceId: string;
  name: string;
  /** Control requests the panel received, over any path. */
  controls: string[];
}

/** A panel simulator that connects to the cloud by itself and is added to the site by serial. */
async function placed(opts: Omit<AlarmPanelOptions, 'platformUrl' | 'hikConnect'>, client = installer.client): Promise<Placed> {
  const panel = new AlarmPanel({ verificationCode: 'ABCDEF', ...opts, platformUrl: cloud.url, hikConnect: true });
  running.push(panel);
  const controls: string[] = [];
  panel.on('request', (method, path) => {
    if (path.startsWith('/ISAPI/SecurityCP/control/')) controls.push(`${method} ${path}`);
  });
  await panel.start();
  const short = panel.shortSerial;
  await until(
    async () => (await cloud.ctx.db.select().from(p2pDevices).where(eq(p2pDevices.shortSerial, short)))[0],
    (row) => row?.connected === true && row.info !== null,
    `${opts.model} on the platform`,
  );
  const added = await client.post<Device>(`/sites/${site}/devices/by-serial`, { serial: panel.serial, ...(panel.endpoints.verificationCode ? { verificationCode: 'ABCDEF' } : {}) });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  return { panel, deviceId: added.body.id, name: added.body.name, controls };
}

const getPanel = (deviceId: string, client = installer.client) => client.get<PanelStatus & ErrorReply>(`/devices/${deviceId}/panel`);
const operate = (deviceId: string, area: number, op: string, client = installer.client) =>
  client.post<PanelOperationReply & ErrorReply>(`/devices/${deviceId}/panel/areas/${area}/${op}`);
const armedFlag = async (deviceId: string) => (await cloud.ctx.db.select().from(arcPanels).where(eq(arcPanels.deviceId, deviceId)))[0]?.armed;

/** An employee of the installer's company with only these permissions. */
const employee = (permissions: string[]): Promise<ApiClient> => signInEmployee(cloud, installer.companyId, permissions);

describe('controlling a security control panel from the platform (§3.2.2)', () => {
  it('arms away and disarms an AX PRO, which changes its state, sets the ARC armed flag, logs and tells the portal', async () => {
    const { panel, deviceId, name, controls } = await placed({ model: 'AX PRO', serial: 'DSPWA9620240101AAWRK10000001', areas: [{ name: 'Ground floor' }, { name: 'Office' }] });
    const status = await getPanel(deviceId);
    expect(status.status, JSON.stringify(status.body)).toBe(200);
    expect(status.body).toMatchObject({
      deviceId,
      model: 'AX PRO',
      capabilities: { control: true, stayArm: true, silence: true },
      areas: [
        { id: 1, name: 'Ground floor', arming: 'disarmed', state: 'disarmed', alarm: false },
        { id: 2, name: 'Office', state: 'disarmed' },
      ],
      host: { acPowerLoss: false, batteryLow: false, tamper: false },
    });
    expect(status.body.zones).toHaveLength(7);
    expect(status.body.zones[0]).toMatchObject({ id: 1, name: 'Front door', area: 1, type: 'delay', active: false });
    expect(status.body.operations.every((o) => o.refusal === null)).toBe(true);
    expect(await armedFlag(deviceId)).toBe(false);

    const controller = new AbortController();
    const live = (await fetch(`${cloud.api}/live`, { headers: { cookie: installer.client.cookie ?? '' }, signal: controller.signal })).body!.getReader();

    const armed = await operate(deviceId, 2, 'away-arm');
    expect(armed.status, JSON.stringify(armed.body)).toBe(200);
    expect(armed.body).toMatchObject({ operation: 'away_arm', area: 2 });
    expect(armed.body.status?.areas.map((a) => a.state)).toEqual(['disarmed', 'away_armed']);
    expect(panel.state.areas.map((a) => a.arming)).toEqual(['disarmed', 'away']);
    expect(await armedFlag(deviceId)).toBe(true);
    let text = '';
    while (!text.includes('panel.changed')) text += new TextDecoder().decode((await live.read()).value);
    expect(text).toContain(deviceId);
    controller.abort();

    const disarmed = await operate(deviceId, 2, 'disarm');
    expect(disarmed.status).toBe(200);
    expect(panel.state.areas[1]!.arming).toBe('disarmed');
    expect(await armedFlag(deviceId)).toBe(false);
    expect(controls).toEqual(['PUT /ISAPI/SecurityCP/control/arm/2', 'PUT /ISAPI/SecurityCP/control/disarm/2']);

    // Armed at the keypad: the next status read brings the flag along.
    expect(panel.operate('stay_arm', 1, { fromPlatform: false }).ok).toBe(true);
    expect((await getPanel(deviceId)).body.areas[0]!.state).toBe('stay_armed');
    expect(await armedFlag(deviceId)).toBe(true);

    const log = await installer.client.get<OperationLogList>('/operation-logs');
    const mine = log.body.items.filter((e) => e.target === name).map((e) => `${e.content} ${e.detail}`);
    expect(mine).toEqual(expect.arrayContaining(['Away Arm Succeeded Area 2', 'Disarm Succeeded Area 2']));
  });

  it("passes on the panel's own refusals: an area in alarm, an area it does not have", async () => {
    const { panel, deviceId } = await placed({ model: 'AX PRO', serial: 'DSPWA9620240101AAWRK10000002' });
    panel.triggerZone(4); // the 24-hour zone: the area is in alarm
    const refused = await operate(deviceId, 1, 'away-arm');
    expect([refused.status, refused.body.code]).toEqual([409, 'PANEL_AREA_IN_ALARM']);
    expect(refused.body.message).toMatch(/^The panel refused to away arm area 1: area 1 is in alarm/);
    expect((await operate(deviceId, 1, 'silence')).status).toBe(200);
    expect(panel.state.areas[0]).toMatchObject({ alarm: true, siren: false });
    expect((await operate(deviceId, 1, 'clear-alarm')).body.status?.areas[0]).toMatchObject({ state: 'disarmed', alarm: false });

    const missing = await operate(deviceId, 3, 'disarm');
    expect([missing.status, missing.body.code]).toEqual([404, 'PANEL_AREA_NOT_FOUND']);
    expect(missing.body.message).toMatch(/no area 3/);
  });

  it('refuses stay arm on AX HOME, silence on AX HYBRID PRO and anything on AX HUB, sending nothing to the panel', async () => {
    const home = await placed({ model: 'AX HOME', serial: 'DSPHA2020240101AAWRK10000003' }, await mobile());
    const hybridPro = await placed({ model: 'AX HYBRID PRO', serial: 'DSPHA6420240101AAWRK10000004' });
    const hub = await placed({ model: 'AX HUB', serial: 'DSPWA6420240101AAWRK10000005' });

    const stay = await operate(home.deviceId, 1, 'stay-arm');
    expect([stay.status, stay.body.code]).toEqual([422, 'PANEL_STAY_ARM_NOT_SUPPORTED']);
    expect(stay.body.message).toBe('AX HOME does not support stay arming.');
    const silence = await operate(hybridPro.deviceId, 1, 'silence');
    expect([silence.status, silence.body.code]).toEqual([422, 'PANEL_SILENCE_NOT_SUPPORTED']);
    for (const op of ['away-arm', 'stay-arm', 'disarm', 'silence', 'clear-alarm']) {
      const r = await operate(hub.deviceId, 1, op);
      expect([r.status, r.body.code], op).toEqual([422, 'PANEL_CONTROL_NOT_SUPPORTED']);
    }
    for (const p of [home, hybridPro, hub]) expect(p.controls).toEqual([]);
    expect(hub.panel.state.areas[0]!.arming).toBe('disarmed');

    // What the models do take goes through, and the status tells the portal what each refuses.
    expect((await operate(home.deviceId, 1, 'away-arm')).status).toBe(200);
    const hubStatus = await getPanel(hub.deviceId);
    expect(hubStatus.body.capabilities.control).toBe(false);
    expect(hubStatus.body.operations.map((o) => o.refusal)).toEqual(Array(5).fill(expect.stringMatching(/^AX HUB cannot be controlled through the platform/)));
    const homeOps = (await getPanel(home.deviceId)).body.operations;
    expect(homeOps.filter((o) => o.refusal).map((o) => o.operation)).toEqual(['stay_arm']);

    const log = await installer.client.get<OperationLogList>('/operation-logs');
    expect(log.body.items.map((e) => e.content)).toContain('Stay Arm Failed');
  });

  it("hides another company's panel (404) and needs device management to operate one (403)", async () => {
    const { deviceId, controls } = await placed({ model: 'AX PRO', serial: 'DSPWA9620240101AAWRK10000006' });
    const other = await registerCompany(cloud.api);
    for (const r of [await getPanel(deviceId, other.client), await operate(deviceId, 1, 'away-arm', other.client)]) {
      expect([r.status, r.body.code]).toEqual([404, 'DEVICE_NOT_FOUND']);
    }
    const viewer = await employee(['site.manage_all']);
    expect((await getPanel(deviceId, viewer)).status).toBe(200);
    const refused = await operate(deviceId, 1, 'away-arm', viewer);
    expect([refused.status, refused.body.code]).toEqual([403, 'PERMISSION_DENIED']);
    expect(controls).toEqual([]);
  });

  it('answers 409 for a panel that is offline, and for devices that are not panels reached over P2P', async () => {
    const { panel, deviceId } = await placed({ model: 'AX PRO', serial: 'DSPWA9620240101AAWRK10000007' });
    panel.setOnline(false);
    await until(async () => cloud.ctx.p2p.isConnected(panel.shortSerial), (c) => !c, 'the panel gone');
    for (const r of [await getPanel(deviceId), await operate(deviceId, 1, 'away-arm')]) {
      expect([r.status, r.body.code]).toEqual([409, 'DEVICE_NOT_CONNECTED']);
    }

    await players.p2pDevice('C00000008', 'ABCDEF', { serial: 'C00000008', deviceClass: 'camera', model: 'DS-2CD2143G2-I', firmware: 'V5.7', name: 'Porch', channels: 1 });
    const camera = (await installer.client.post<Device>(`/sites/${site}/devices/by-serial`, { serial: 'C00000008', verificationCode: 'ABCDEF' })).body.id;
    const notPanel = await getPanel(camera);
    expect([notPanel.status, notPanel.body.code]).toEqual([409, 'NOT_AN_ALARM_PANEL']);

    // A panel the cloud calls by IP/domain is not reached over its own connection.
    await cloud.ctx.db.update(devices).set({ accessMode: 'ip_domain' }).where(eq(devices.id, deviceId));
    const notP2p = await operate(deviceId, 1, 'disarm');
    expect([notP2p.status, notP2p.body.code]).toEqual([409, 'PANEL_NOT_P2P']);
  });

  it('answers 504 when the panel does not answer in time', async () => {
    const { panel, deviceId } = await placed({ model: 'AX PRO', serial: 'DSPWA9620240101AAWRK10000008' });
    panel.setLatency(3000);
    const slow = await operate(deviceId, 1, 'disarm');
    expect([slow.status, slow.body.code]).toEqual([504, 'RPC_TIMEOUT']);
    expect(slow.body.message).toMatch(/did not answer PUT \/ISAPI\/SecurityCP\/control\/disarm\/1 within 1500 ms/);
  });
});

/** The installer signed in from the mobile app, which adds panels without a verification code (AX HOME). */
async function mobile(): Promise<ApiClient> {
  const token = await installer.client.post<{ token: string }>('/auth/token', { email: installer.email, password: installer.password, client: 'mobile' });
  return new ApiClient(cloud.api, { authorization: `Bearer ${token.body.token}` });
}
