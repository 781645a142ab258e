import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  IsapiPath,
  PANEL_OPERATIONS,
  PanelIsapiPath,
  buildPanelArcSettings,
  panelControlPath,
  parsePanelArcSettings,
  parsePanelAreaStatusList,
  parsePanelCapabilities,
  parsePanelHostStatus,
  parsePanelZoneStatusList,
  type PanelArcSettingsDoc,
  type PanelModel,
} from '@vigil/protocol';
import { AlarmPanel } from './panel.js';
import { arcTo, drained, isapi, KEY_128, nextMessages, PanelLab, responseOf, simControl, when } from './testing.js';

const lab = new PanelLab();
afterEach(() => lab.close());

const areaState = async (p: AlarmPanel, area = 1) => {
  const res = await isapi(p, 'GET', PanelIsapiPath.areaStatus);
  const list = parsePanelAreaStatusList(res.text);
  if (!list.ok) throw new Error(list.error);
  return list.value.find((a) => a.id === area)!;
};

describe('model rules through the platform', () => {
  it('refuses stay arm on AX HOME and silence on AX HYBRID PRO, taking the rest', async () => {
    const home = await lab.panel({ model: 'AX HOME' });
    const stay = await isapi(home, 'PUT', panelControlPath('stay_arm', 1));
    expect(stay.status).toBe(403);
    expect(responseOf(stay.text)).toMatchObject({ statusCode: 4, statusString: 'Invalid Operation', subStatusCode: 'stayArmNotSupported' });
    expect(responseOf(stay.text).errorMsg).toMatch(/AX HOME does not support stay arming/);
    expect((await isapi(home, 'PUT', panelControlPath('away_arm', 1))).status).toBe(200);
    expect(await areaState(home)).toMatchObject({ arming: 'away', state: 'away_armed' });

    const hybridPro = await lab.panel({ model: 'AX HYBRID PRO' });
    const silence = await isapi(hybridPro, 'PUT', panelControlPath('silence', 1));
    expect(silence.status).toBe(403);
    expect(responseOf(silence.text).subStatusCode).toBe('silenceNotSupported');
    expect((await isapi(hybridPro, 'PUT', panelControlPath('stay_arm', 1))).status).toBe(200);
    expect(await areaState(hybridPro)).toMatchObject({ state: 'stay_armed' });
  });

  it('refuses any control of AX HUB and AX HYBRID, which still report their status and take their keypad', async () => {
    for (const model of ['AX HUB', 'AX HYBRID'] as PanelModel[]) {
      const p = await lab.panel({ model });
      for (const op of PANEL_OPERATIONS) {
        const res = await isapi(p, 'PUT', panelControlPath(op, 1));
        expect(res.status, `${model} ${op}`).toBe(403);
        expect(responseOf(res.text).subStatusCode).toBe('controlNotSupported');
      }
      expect(await areaState(p)).toMatchObject({ arming: 'disarmed' });
      const caps = parsePanelCapabilities((await isapi(p, 'GET', PanelIsapiPath.capabilities)).text);
      expect(caps).toMatchObject({ ok: true, value: { model, control: false, areas: 1, zones: 7 } });
      expect((await simControl(p, { keypad: { operation: 'away_arm', area: 1, user: 4 } })).status).toBe(200);
      expect(await areaState(p)).toMatchObject({ arming: 'away' });
    }
  });

  it('arms and disarms an AX PRO, sending closings and openings with the user', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    const sent = nextMessages(r, 4);
    expect((await isapi(p, 'PUT', panelControlPath('away_arm', 1))).status).toBe(200);
    expect(await areaState(p)).toMatchObject({ arming: 'away', state: 'away_armed' });
    expect((await isapi(p, 'PUT', panelControlPath('disarm', 1))).status).toBe(200);
    expect(await areaState(p)).toMatchObject({ arming: 'disarmed', state: 'disarmed' });
    expect((await isapi(p, 'PUT', panelControlPath('stay_arm', 1))).status).toBe(200);
    expect((await simControl(p, { keypad: { operation: 'disarm', area: 1, user: 7 } })).status).toBe(200);
    const [close, open, stay, keypadOpen] = await sent;
    expect(close).toMatchObject({ id: 'ADM-CID', account: '1234', data: '#1234|3401 01 001', event: { kind: 'contact-id', description: 'Closing (Open/close by user)' } });
    expect(open!.event).toMatchObject({ qualifier: 1, code: 401, partition: 1, zone: 1 });
    expect(stay!.event).toMatchObject({ qualifier: 3, code: 441, partition: 1, zone: 1 });
    expect(keypadOpen!.event).toMatchObject({ qualifier: 1, code: 401, zone: 7 });
    await drained(p);
    expect(p.state.arc.events.map((e) => [e.kind, e.delivery])).toEqual([
      ['closing', 'acknowledged'],
      ['opening', 'acknowledged'],
      ['stay_closing', 'acknowledged'],
      ['opening', 'acknowledged'],
    ]);
  });

  it('answers 401 without credentials, 404 for an unknown area or path, 400 for a bad arming way', async () => {
    const p = await lab.panel({ model: 'AX PRO', areas: [{ name: 'Ground' }, { name: 'Garage' }] });
    const anonymous = await fetch(`http://127.0.0.1:${p.endpoints.httpPort}${panelControlPath('away_arm', 1)}`, { method: 'PUT' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Digest /);
    await anonymous.text();
    const unknownArea = await isapi(p, 'PUT', panelControlPath('disarm', 3));
    expect([unknownArea.status, responseOf(unknownArea.text).subStatusCode]).toEqual([404, 'invalidID']);
    const way = await isapi(p, 'PUT', '/ISAPI/SecurityCP/control/arm/1?ways=night');
    expect([way.status, responseOf(way.text).subStatusCode]).toEqual([400, 'invalidArmingWay']);
    expect((await isapi(p, 'GET', panelControlPath('disarm', 1))).status).toBe(405);
    expect((await isapi(p, 'GET', '/ISAPI/SecurityCP/nothing')).status).toBe(404);
    expect((await isapi(p, 'GET', IsapiPath.deviceInfo)).text).toContain('<model>AX PRO</model>');
    expect((await isapi(p, 'PUT', panelControlPath('away_arm', 2))).status).toBe(200);
    expect((await areaState(p, 1)).arming).toBe('disarmed');
    expect((await areaState(p, 2)).arming).toBe('away');
  });
});

describe('alarms to the ARC', () => {
  it('sends a burglary as Contact ID with the account code; silence keeps the alarm memory, clearing ends it', async () => {
    const r = await lab.receiver({ accounts: { '1234': null } });
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    const sent = nextMessages(r, 3);
    expect((await isapi(p, 'PUT', panelControlPath('away_arm', 1))).status).toBe(200);
    expect((await simControl(p, { trigger: { zone: 3 } })).status).toBe(200);
    expect(await areaState(p)).toMatchObject({ arming: 'away', state: 'alarm', alarm: true, siren: true });
    expect((await isapi(p, 'PUT', panelControlPath('silence', 1))).status).toBe(200);
    expect(await areaState(p)).toMatchObject({ state: 'alarm', alarm: true, siren: false });
    const zones = parsePanelZoneStatusList((await isapi(p, 'GET', PanelIsapiPath.zoneStatus)).text);
    expect(zones.ok && zones.value.find((z) => z.id === 3)).toMatchObject({ name: 'Living room window', type: 'instant', active: true, alarm: true });
    expect((await isapi(p, 'PUT', panelControlPath('clear_alarm', 1))).status).toBe(200);
    expect(await areaState(p)).toMatchObject({ arming: 'away', state: 'away_armed', alarm: false });
    expect((await simControl(p, { trigger: { zone: 3, restore: true } })).status).toBe(200);
    const [, alarm, restore] = await sent;
    expect(alarm).toMatchObject({ id: 'ADM-CID', account: '1234', encrypted: false, answer: 'ACK', data: '#1234|1130 01 003' });
    expect(alarm!.event).toMatchObject({ kind: 'contact-id', account: '1234', code: 130, partition: 1, zone: 3, category: 'burglary' });
    expect(restore!.event).toMatchObject({ qualifier: 3, code: 130, zone: 3, description: 'Burglary restore' });
  });

  it('sends a panic as SIA-DCS over UDP, encrypted with the key', async () => {
    const r = await lab.receiver({ accounts: { ABC123: KEY_128 } });
    const p = await lab.panel({ model: 'AX HOME', arc: arcTo(r, { accountCode: 'abc123', protocol: 'SIA-DCS', key: KEY_128, receiver: { transport: 'udp' } }) });
    const delivered = when(p.arc, 'delivered');
    expect((await simControl(p, { panic: { area: 1 } })).status).toBe(200);
    const [m] = await nextMessages(r, 1);
    expect(m).toMatchObject({ transport: 'udp', id: 'SIA-DCS', encrypted: true, account: 'ABC123', answer: '*ACK', data: '#ABC123|Nri1/PA' });
    expect(m!.event).toMatchObject({ kind: 'sia', events: [{ code: 'PA', area: '1', name: 'Panic alarm' }] });
    await delivered;
    expect(p.state.arc.events[0]).toMatchObject({ kind: 'panic', delivery: 'acknowledged', transmissions: 1 });
  });

  it('raises fire, panic and 24h alarms at any time, burglary only where the area is armed', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    const sent = nextMessages(r, 6);
    // Disarmed: the window (instant) raises nothing, the safe (24h) and the smoke detector (fire) do.
    await simControl(p, { trigger: { zone: 3 } });
    await simControl(p, { trigger: { zone: 4 } });
    await simControl(p, { trigger: { zone: 5 } });
    await simControl(p, { trigger: { zone: 6 } });
    await isapi(p, 'PUT', panelControlPath('clear_alarm', 1));
    // Stay armed: the hallway PIR (interior) is left out, the window is not.
    await isapi(p, 'PUT', panelControlPath('stay_arm', 1));
    await simControl(p, { trigger: { zone: 2 } });
    await simControl(p, { trigger: { zone: 3 } });
    await simControl(p, { tamper: { zone: 7 } });
    const events = (await sent).map((m) => (m.event.kind === 'contact-id' ? [m.event.code, m.event.zone] : []));
    expect(events).toEqual([
      [133, 4],
      [110, 5],
      [120, 6],
      [441, 1],
      [130, 3],
      [137, 7],
    ]);
    expect(p.state.zones.find((z) => z.id === 7)).toMatchObject({ tamper: true });
  });

  it('sounds a delay zone only once its entry delay has passed', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', zones: [{ type: 'delay', entryDelaySec: 0.3 }], arc: arcTo(r) });
    await isapi(p, 'PUT', panelControlPath('away_arm', 1));
    const alarm = nextMessages(r, 1, (m) => m.event.kind === 'contact-id' && m.event.code === 134);
    const triggered = Date.now();
    await simControl(p, { trigger: { zone: 1 } });
    expect(await areaState(p)).toMatchObject({ state: 'away_armed', entryDelay: true });
    const [m] = await alarm;
    expect(Date.parse(m!.receivedAt) - triggered).toBeGreaterThanOrEqual(280);
    expect(await areaState(p)).toMatchObject({ state: 'alarm', entryDelay: false });
  });

  it('reports AC power loss, low battery and the panel tamper with their restores', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    const sent = nextMessages(r, 6);
    await simControl(p, { acLoss: true, batteryLow: true, tamper: {} });
    const host = parsePanelHostStatus((await isapi(p, 'GET', PanelIsapiPath.hostStatus)).text);
    expect(host).toMatchObject({ ok: true, value: { acPowerLoss: true, batteryLow: true, tamper: true, arcEnabled: true } });
    await simControl(p, { acLoss: false, batteryLow: false, tamper: { restore: true } });
    expect((await sent).map((m) => m.data)).toEqual([
      '#1234|1301 00 000',
      '#1234|1302 00 000',
      '#1234|1137 00 000',
      '#1234|3301 00 000',
      '#1234|3302 00 000',
      '#1234|3137 00 000',
    ]);
  });

  it('leaves out the event types the ARC does not take', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r, { reportTypes: ['fire'] }) });
    await isapi(p, 'PUT', panelControlPath('away_arm', 1));
    await simControl(p, { fire: true });
    const [m] = await nextMessages(r, 1);
    expect(m!.event).toMatchObject({ code: 110 });
    await drained(p);
    expect(p.state.arc.events.map((e) => [e.kind, e.delivery])).toEqual([
      ['closing', 'not_reported'],
      ['fire', 'acknowledged'],
    ]);
  });
});

describe('ARC settings over ISAPI', () => {
  it('reads and writes the settings, never showing the key', async () => {
    const r = await lab.receiver({ accounts: { '1234': KEY_128 } });
    const p = await lab.panel({ model: 'AX PRO', arc: { impulseCountingTimeSec: 2 } });
    const before = parsePanelArcSettings((await isapi(p, 'GET', PanelIsapiPath.arc)).text);
    if (!before.ok) throw new Error(before.error);
    expect(before.value).toMatchObject({ enabled: false, impulseCountingTimeSec: 2, attempts: 3, encrypted: false });
    const next: PanelArcSettingsDoc = {
      ...before.value,
      enabled: true,
      accountCode: '1234',
      protocol: 'SIA-DCS',
      receiver: { host: '127.0.0.1', port: r.endpoints.tcp, transport: 'tcp' },
      encrypted: true,
      key: KEY_128,
    };
    expect((await isapi(p, 'PUT', PanelIsapiPath.arc, buildPanelArcSettings(next))).status).toBe(200);
    const got = await isapi(p, 'GET', PanelIsapiPath.arc);
    expect(got.text).not.toContain(KEY_128);
    expect(parsePanelArcSettings(got.text)).toMatchObject({ ok: true, value: { enabled: true, accountCode: '1234', protocol: 'SIA-DCS', encrypted: true } });
    await simControl(p, { fire: true });
    const [m] = await nextMessages(r, 1);
    expect(m).toMatchObject({ id: 'SIA-DCS', encrypted: true, data: '#1234|Nri1/FA' });
    const bad = await isapi(p, 'PUT', PanelIsapiPath.arc, got.text.replace('<accountCode>1234<', '<accountCode>XYZ<'));
    expect([bad.status, responseOf(bad.text).subStatusCode]).toEqual([400, 'badXmlContent']);
    expect(responseOf(bad.text).errorMsg).toMatch(/account code/);
  });
});

describe('simulator controls', () => {
  it('refuses bad controls without changing anything', async () => {
    const p = await lab.panel({ model: 'AX PRO' });
    for (const body of [{ trigger: { zone: 99 } }, { trigger: 3 }, { keypad: { operation: 'dance', area: 1 } }, { arc: { attempts: 0 } }, { panic: { area: 9 } }, { bogus: 1 }, []]) {
      expect((await simControl(p, body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await simControl(p, { keypad: { operation: 'silence', area: 1 } })).status).toBe(200);
    const home = await lab.panel({ model: 'AX HOME' });
    const stay = await simControl(home, { keypad: { operation: 'stay_arm', area: 1 } });
    expect([stay.status, stay.json.subStatus]).toEqual([409, 'stayArmNotSupported']);
    expect(p.state.arc.events).toEqual([]);
  });

  it('goes offline and back, holding what it reports until then', async () => {
    const r = await lab.receiver();
    const p = await lab.panel({ model: 'AX PRO', arc: arcTo(r) });
    expect((await simControl(p, { online: false })).json).toMatchObject({ online: false, arc: { online: false } });
    await simControl(p, { fire: { area: 1 } });
    expect(p.state.arc).toMatchObject({ queued: 1, transmissions: [] });
    const sent = nextMessages(r, 1);
    await simControl(p, { online: true });
    expect((await sent)[0]!.event).toMatchObject({ code: 110 });
  });
});

describe('the platform connection', () => {
  it('connects by its short serial, with its verification code or, for an AX HOME, without one', async () => {
    const logins: { username: string | undefined; password: string | undefined }[] = [];
    const broker = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        logins.push({ username, password: password?.toString('utf8') });
        done(null, true);
      },
    });
    const http: Server = createServer();
    const wss = new WebSocketServer({ server: http, path: '/mqtt' });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => stream.destroy());
      broker.handle(stream, req);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    lab.add({
      stop: async () => {
        for (const ws of wss.clients) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => http.close(() => resolve()));
        await new Promise<void>((resolve) => broker.close(() => resolve()));
      },
    });
    const platformUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const home = new AlarmPanel({ model: 'AX HOME', serial: 'DSPHA2020240101AACHQ12345678', platformUrl, hikConnect: true });
    const pro = new AlarmPanel({ model: 'AX PRO', serial: 'Q87654321', verificationCode: 'ABCDEF', platformUrl, hikConnect: true });
    const up = [when(home, 'platform', (c: boolean) => c), when(pro, 'platform', (c: boolean) => c)];
    lab.add(home);
    lab.add(pro);
    await Promise.all([home.start(), pro.start()]);
    await Promise.all(up);
    expect(home.endpoints).toMatchObject({ shortSerial: 'Q12345678', verificationCode: null });
    expect(logins).toContainEqual({ username: 'device:Q12345678', password: undefined });
    expect(logins).toContainEqual({ username: 'device:Q87654321', password: 'ABCDEF' });
    const down = when(pro, 'platform', (c: boolean) => !c);
    await simControl(pro, { online: false });
    await down;
    expect(pro.state.platform).toMatchObject({ url: platformUrl, hikConnect: true, connected: false });
  });
});
