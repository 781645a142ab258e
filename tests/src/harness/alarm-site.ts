import { readdirSync, readFileSync } from 'node:fs';
import { ApiClient, registerCompany } from '@vigil/cloud/testing';
import { createLan, type Lan } from './lan.js';
import { ENTRY, eventually, startProcess, type Json, type Proc } from './process.js';
import { edgeBox, startCloudProcess, startEdge, type EdgeBox } from './system.js';

/**
 * A customer's site whose alarm panel is monitored by an ARC, every part a real process:
 *
 *   panel simulator ──DC-09──► edge box (own network namespace) ──DC-09, direct──► ARC receiver simulator
 *                                  └──MQTT tunnel──► cloud ──DC-09, the server path──┘
 *
 * The box reaches the cloud and the receiver through its uplink, each on its own address, so the direct path can
 * be cut alone (`cutDirect`) while the cloud stays reachable. The panel reports to the box and connects to the
 * cloud by itself (Hik-Connect), which is how it is added; its zones are 24-hour zones, so each trigger is one
 * alarm that names its zone, whatever the arming. Used by the fault-injection tests and the alarm benchmarks.
 */

export const ALARM_ACCOUNT = '1A2B';
/** The ARC receiver's key for the account, for a client that speaks to the receiver itself (the benchmarks). */
export const ARC_KEY = '000102030405060708090A0B0C0D0E0F';
const PANEL_SERIAL = 'DSPWA9620240101AAWRP20000001';
const PANEL_CODE = 'ABCDEF';
/** Where the box listens for its panels, inside its namespace (at the uplink's `edgeIp` from the root namespace). */
export const ALARM_PORT = 7100;

export interface AlarmSiteOptions {
  dir: string;
  /** The panel's Table 3-8 settings, which the box and the server path apply. */
  transmission?: { impulseCountingTimeSec: number; attempts: number; pollingRateSec: number };
  connectionMode?: 'direct_or_server' | 'server_only';
  /** Zones of the panel (each a 24-hour zone); default 60. */
  zones?: number;
  /** Extra cloud environment. */
  cloudEnv?: Record<string, string>;
}

/** A message the receiver accepted. */
export interface ReceivedAlarm {
  sequence: number;
  account: string;
  data: string;
  duplicate: boolean;
  receivedAt: string;
  remote: string;
  event: { code?: number | string; zone?: number; qualifier?: string } & Json;
}

export interface PanelEvent {
  zone: number;
  reportType: string;
  acknowledgedAt: string | null;
}

export interface AlarmSite {
  lan: Lan;
  cloud: Awaited<ReturnType<typeof startCloudProcess>>;
  edge: Proc;
  box: EdgeBox;
  receiver: { proc: Proc; host: string; tcp: number; http: number };
  panel: { proc: Proc; http: string };
  installer: ApiClient;
  installerLogin: { email: string; password: string };
  arc: ApiClient;
  siteId: string;
  panelId: string;
  /** Raises an alarm on a zone of the panel (1-based). */
  trigger(zone: number): Promise<void>;
  /** Steers the panel simulator (`/__sim/control`). */
  panelControl(body: Json): Promise<void>;
  /** What the panel raised, and whether the box acknowledged each (it then is on the box's disk). */
  panelEvents(): Promise<PanelEvent[]>;
  /** Waits until the box has acknowledged these zones' alarms to the panel. */
  waitForBox(zones: number[], what: string): Promise<void>;
  /** Every message the receiver accepted, duplicates included, in arrival order. */
  received(): Promise<ReceivedAlarm[]>;
  /** The zones of the zone alarms the receiver accepted (recognized retransmissions left out), in arrival order. */
  zones(): Promise<number[]>;
  /** Waits until the receiver holds these zones' alarms (or more). */
  waitForZones(count: number, what: string, timeoutMs?: number): Promise<number[]>;
  /** When the receiver last took a live poll (NULL message) of the panel's account; 0 for never. */
  lastPollAt(): Promise<number>;
  receiverControl(body: Json): Promise<void>;
  cutDirect(): Promise<void>;
  restoreDirect(): Promise<void>;
  stopCloud(): Promise<void>;
  startCloud(): Promise<void>;
  /** Starts the box again (after `edge.kill()`), under a new process name. */
  restartEdge(): Promise<void>;
  /** The pid of one of the box's worker processes (`alarms`, `discovery`, `lan`). */
  workerPid(name: string): number;
  stop(): Promise<void>;
}

const json = async <T>(res: Response): Promise<T> => {
  if (!res.ok) throw new Error(`${res.url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const post = (url: string, body: Json) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export async function startAlarmSite(opts: AlarmSiteOptions): Promise<AlarmSite> {
  const { dir } = opts;
  const procs: Proc[] = [];
  const lan = await createLan({ hosts: [{ name: 'edge', uplink: true }] });
  let cloud: AlarmSite['cloud'] | null = null;
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await lan.destroy();
    await cloud?.dropDatabase();
  };
  try {
    const uplink = lan.uplink!;
    const remote = await lan.addRemote();
    cloud = await startCloudProcess(dir, { host: uplink.rootIp, env: opts.cloudEnv });
    procs.push(cloud.proc);
    const receiverProc = await startProcess({
      name: 'receiver',
      entry: ENTRY.sim,
      args: ['receiver', '--host', remote, '--tcp-port', '0', '--udp-port', '0', '--http-port', '0', '--account', `${ALARM_ACCOUNT}:${ARC_KEY}`],
      logDir: dir,
      ready: (l) => l.ready === true,
    });
    procs.push(receiverProc);
    const r = receiverProc.lines.find((l) => l.ready === true)! as { tcp: number; http: number };
    const receiver = { proc: receiverProc, host: remote, tcp: r.tcp, http: r.http };

    const transmission = opts.transmission ?? { impulseCountingTimeSec: 1, attempts: 2, pollingRateSec: 0 };
    const panelSpec = {
      model: 'AX PRO',
      serial: PANEL_SERIAL,
      verificationCode: PANEL_CODE,
      platformUrl: cloud.url,
      hikConnect: true,
      zones: Array.from({ length: opts.zones ?? 60 }, (_, i) => ({ type: '24h', name: `Zone ${i + 1}` })),
      retryDelayMs: 200,
      arc: {
        enabled: true,
        accountCode: ALARM_ACCOUNT,
        receiver: { host: uplink.edgeIp, port: ALARM_PORT, transport: 'tcp' },
        key: null,
        impulseCountingTimeSec: 1,
        attempts: 3,
        pollingRateSec: 0,
      },
    };
    const panelProc = await startProcess({
      name: 'panel',
      entry: ENTRY.sim,
      args: ['panels', '--spec-json', JSON.stringify({ panels: [panelSpec] })],
      logDir: dir,
      ready: (l) => l.ready === true,
    });
    procs.push(panelProc);
    const p = (panelProc.lines.find((l) => l.ready === true)!.panels as { host: string; httpPort: number; shortSerial: string }[])[0]!;
    const panel = { proc: panelProc, http: `http://${p.host}:${p.httpPort}` };

    const api = `${cloud.url}/api/v1`;
    const company = await registerCompany(api, 'Northern Alarms');
    const installer = company.client;
    const arc = new ApiClient(api);
    const arcCompany = await arc.post<{ company: { id: string } }>('/companies', {
      company: { name: 'Sentinel Monitoring', type: 'alarm_receiving_center', countryCode: 'GB' },
      admin: { name: 'Operator', email: 'operator@sentinel.example', password: 'Receiving-Centre9' },
    });
    await arc.post('/arc/profile', { contactEmail: 'operator@sentinel.example' });
    await arc.post('/arc/profile/config-completed');
    const receiverAdded = await arc.post('/arc/receivers', {
      name: 'Primary',
      host: remote,
      port: receiver.tcp,
      transport: 'tcp',
      accounts: [{ accountNumber: ALARM_ACCOUNT, encrypted: true, key: ARC_KEY }],
    });
    if (receiverAdded.status !== 201) throw new Error(`adding the receiver failed: ${JSON.stringify(receiverAdded.body)}`);

    const siteId = (await installer.post<{ id: string }>('/sites', { name: 'Flat 7', type: 'personal', timeZone: 'UTC', offlineDelaySec: 60 })).body.id;
    const box = edgeBox(dir, cloud.url, [], 'unused');
    box.env.VIGIL_EDGE_ALARM_LISTEN = `0.0.0.0:${ALARM_PORT}`;
    const edgeNs = lan.host('edge').ns;
    let edge = await startEdge(dir, box, 'edge', edgeNs);
    procs.push(edge);
    const claimed = await installer.post(`/sites/${siteId}/edges`, { serial: box.serial, verificationCode: box.code });
    if (claimed.status !== 201) throw new Error(`claiming the box failed: ${JSON.stringify(claimed.body)}`);
    await edge.waitFor((l) => l.event === 'connected' && l.mode === 'edge', 'the box in edge mode');

    const added = await eventually(
      () => installer.post<{ id: string }>(`/sites/${siteId}/devices/by-serial`, { serial: p.shortSerial, verificationCode: PANEL_CODE, name: 'Hall panel' }),
      (res) => res.status === 201,
      'the panel added by serial',
      20_000,
    );
    const panelId = added.body.id;
    await installer.call('PUT', `/sites/${siteId}/arc/authorization`, { arcCompanyId: arcCompany.body.company.id });
    const enabled = await installer.call('PUT', `/sites/${siteId}/arc/panels/${panelId}`, {
      accountNumber: ALARM_ACCOUNT,
      eventTypes: ['alarm', 'panic', 'fire', 'tamper', 'fault'],
      connectionMode: opts.connectionMode ?? 'direct_or_server',
      transmission,
    });
    if (enabled.status !== 200) throw new Error(`enabling the ARC service failed: ${JSON.stringify(enabled.body)}`);
    const accepted = await arc.post(`/arc/entrusted-devices/${panelId}/accept`);
    if (accepted.status !== 200) throw new Error(`accepting the panel failed: ${JSON.stringify(accepted.body)}`);

    type ReceiverState = { messages: ReceivedAlarm[]; supervision: { byAccount: Record<string, { lastAt: string }> } };
    const receiverState = async () => json<ReceiverState>(await fetch(`http://${remote}:${receiver.http}/__sim/state`));
    const received = async () => (await receiverState()).messages;
    // Zone 0 is the panel itself: its own troubles, such as failing to reach the box, are reported too.
    const zones = async () =>
      (await received())
        .filter((m) => !m.duplicate)
        .map((m) => Number(m.event.zone))
        .filter((zone) => zone > 0);
    const panelEvents = async () => (await json<{ arc: { events: PanelEvent[] } }>(await fetch(`${panel.http}/__sim/state`))).arc.events;
    let edges = 1;
    const site: AlarmSite = {
      lan,
      get cloud() {
        return cloud!;
      },
      get edge() {
        return edge;
      },
      box,
      receiver,
      panel,
      installer,
      installerLogin: { email: company.email, password: company.password },
      arc,
      siteId,
      panelId,
      async trigger(zone) {
        await json(await post(`${panel.http}/__sim/control`, { trigger: { zone } }));
      },
      async panelControl(body) {
        await json(await post(`${panel.http}/__sim/control`, body));
      },
      panelEvents,
      async waitForBox(wanted, what) {
        const acknowledged = async () => (await panelEvents()).filter((e) => e.acknowledgedAt && e.reportType === 'alarm').map((e) => e.zone);
        await eventually(acknowledged, (zs) => wanted.every((z) => zs.includes(z)), what);
      },
      received,
      zones,
      async waitForZones(count, what, timeoutMs = 30_000) {
        return eventually(zones, (z) => z.length >= count, what, timeoutMs);
      },
      async lastPollAt() {
        const last = (await receiverState()).supervision.byAccount[ALARM_ACCOUNT]?.lastAt;
        return last ? Date.parse(last) : 0;
      },
      async receiverControl(body) {
        await json(await post(`http://${remote}:${receiver.http}/__sim/control`, body));
      },
      cutDirect: () => lan.setRemoteReachable(remote, false),
      restoreDirect: () => lan.setRemoteReachable(remote, true),
      async stopCloud() {
        await cloud!.proc.stop();
      },
      async startCloud() {
        const previous = cloud!;
        cloud = await startCloudProcess(dir, { host: uplink.rootIp, port: previous.port, databaseUrl: previous.databaseUrl, env: opts.cloudEnv });
        cloud.dropDatabase = previous.dropDatabase;
        procs.push(cloud.proc);
      },
      async restartEdge() {
        edge = await startEdge(dir, box, `edge-${++edges}`, edgeNs);
        procs.push(edge);
      },
      workerPid: (name) => workerPid(edge.pid, name),
      stop,
    };
    return site;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A worker of the box: a process in the supervisor's process group running `workers/{name}.js`. */
function workerPid(group: number, name: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The process group is the 5th field, after the command in parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== group) continue;
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`workers/${name}.js`)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no ${name} worker in process group ${group}`);
}
