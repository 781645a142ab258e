import { randomUUID } from 'node:crypto';
import type { InitProgress, InitTarget, LanInitializeParams } from '@vigil/protocol';
import { DeviceHost, type SimDevice, type SimDeviceOptions } from '@vigil/simulators';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLog } from '../test/util.js';
import { dhcpPolicy, isEiSeries, runInitJob, type InitJobOptions } from './job.js';
import { OnsiteJobs } from './jobs.js';
import { ianaOffsetMinutes, posixZone } from './time-zone.js';

const PW = 'Vigil2024pw';
const CODE = 'ABCDEF12';

const hosts: DeviceHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.stop();
});

/** Simulated devices on loopback, each on its own HTTP port. */
async function lan(devices: SimDeviceOptions[]): Promise<DeviceHost> {
  const host = new DeviceHost({ sadpPort: 0, wsdPort: 0, multicast: false, devices });
  hosts.push(host);
  await host.start();
  return host;
}

const target = (d: SimDevice): InitTarget => ({
  serial: d.serial,
  deviceClass: d.deviceClass,
  ip: d.ip,
  httpPort: d.endpoints.httpPort,
  activated: d.isActivated,
});

const params = (devices: InitTarget[], over: Partial<LanInitializeParams> = {}): LanInitializeParams => ({
  jobId: randomUUID(),
  devices,
  password: PW,
  verificationCode: CODE,
  timeZone: 'Asia/Shanghai',
  ...over,
});

function sink(): { reports: InitProgress[]; send: (p: InitProgress) => Promise<void> } {
  const reports: InitProgress[] = [];
  return { reports, send: (p) => Promise.resolve(void reports.push(p)) };
}

const PLATFORM_URL = 'http://127.0.0.1:9';
const jobOptions = (host: DeviceHost, send: InitJobOptions['send']): InitJobOptions => ({
  send,
  // LAN discovery's view of the devices: where each one is now.
  locate: (serial) => {
    const d = host.device(serial);
    return d ? { ip: d.ip } : null;
  },
  requestTimeoutMs: 3_000,
  settleTimeoutMs: 3_000,
  // Nothing listens there: the devices keep trying, which is all these tests need.
  platformUrl: PLATFORM_URL,
});

type DeviceReport = Extract<InitProgress, { serial: string }>;
const ofDevice = (reports: InitProgress[], serial: string): DeviceReport[] =>
  reports.filter((r): r is DeviceReport => 'serial' in r && r.serial === serial);
/** `step:state` for each report of a device. */
const trail = (reports: InitProgress[], serial: string): string[] => ofDevice(reports, serial).map((r) => `${r.step}:${r.state}`);
const final = (reports: InitProgress[], serial: string, step: string): DeviceReport | undefined =>
  ofDevice(reports, serial).find((r) => r.step === step && r.state !== 'running');
const indexOf = (reports: InitProgress[], pred: (r: InitProgress) => boolean): number => reports.findIndex(pred);

describe('rules', () => {
  it('chooses DHCP per class (Table 3-2)', () => {
    expect(dhcpPolicy('nvr', 'DS-7608NXI-K2')).toEqual({ dhcp: true });
    expect(dhcpPolicy('dvr', 'iDS-7208HQHI-M1/S')).toEqual({ dhcp: true });
    expect(dhcpPolicy('camera', 'DS-2CD2143G2-I')).toEqual({ dhcp: false });
    expect(dhcpPolicy('switch', 'DS-3E1510P-SI')).toEqual({ dhcp: true });
    expect(dhcpPolicy('switch', 'DS-3E1510P-EI')).toHaveProperty('keep');
    expect(dhcpPolicy('ac_router', 'DS-3WR15X')).toHaveProperty('keep');
    expect(isEiSeries('DS-3E1518P-EI/M')).toBe(true);
    expect(isEiSeries('DS-3E1510P-SI')).toBe(false);
  });

  it('writes the time zone as devices store it', () => {
    const at = Date.UTC(2026, 0, 15, 12);
    expect(ianaOffsetMinutes('Asia/Shanghai', at)).toBe(480);
    expect(ianaOffsetMinutes('America/New_York', at)).toBe(-300);
    expect(ianaOffsetMinutes('Asia/Kolkata', at)).toBe(330);
    expect(ianaOffsetMinutes('UTC', at)).toBe(0);
    expect(() => ianaOffsetMinutes('Nowhere/Atlantis', at)).toThrow(RangeError);
    expect(posixZone(480)).toBe('UTC-8:00:00');
    expect(posixZone(-300)).toBe('UTC+5:00:00');
    expect(posixZone(330)).toBe('UTC-5:30:00');
  });
});

describe('initialization job', () => {
  it('initializes an NVR, two cameras and two switches by Table 3-2', async () => {
    const host = await lan([
      {
        class: 'nvr',
        ip: '127.0.0.1',
        // The DHCP server hands the NVR another address: it moves there once DHCP is on.
        dhcpLease: { ip: '127.0.0.2' },
        hdds: [{ status: 'uninitialized' }, { hasData: true }],
        clockOffsetMs: 3_600_000,
        latestFirmware: 'V5.8.0 build 250101',
      },
      { class: 'camera', dhcp: true, hdds: [{}] },
      { class: 'camera', capabilities: ['md2'] },
      { class: 'switch' },
      { class: 'switch', flags: { eiSeries: true } },
    ]);
    const [nvr, camA, camB, sw, ei] = host.devices as [SimDevice, SimDevice, SimDevice, SimDevice, SimDevice];
    const { reports, send } = sink();
    // Cameras listed first: the NVR still goes first.
    const p = params([camA, camB, sw, ei, nvr].map(target));
    await runInitJob(p, jobOptions(host, send));

    // Every device: activated with the job's password.
    for (const d of host.devices) expect(d.state).toMatchObject({ activated: true, password: PW });

    // NVR: DHCP on (it moved to its lease), time, blank disk formatted, the disk with data untouched, cameras as sorted channels.
    const n = nvr.state;
    expect(n.network).toMatchObject({ dhcp: true, ipv4: '127.0.0.2' });
    expect(n.listenIp).toBe('127.0.0.2');
    expect(n.clock.timeZone).toBe('UTC-8:00:00');
    expect(Math.abs(n.clock.offsetMs)).toBeLessThan(5_000);
    expect(n.hdds).toEqual([
      expect.objectContaining({ id: 1, status: 'ok', hasData: false }),
      expect.objectContaining({ id: 2, status: 'ok', hasData: true }),
    ]);
    expect(n.hikConnect).toEqual({ supported: true, enabled: true });
    expect(n.verificationCode).toBe(CODE);
    const byPort = [camA, camB].sort((a, b) => a.endpoints.httpPort - b.endpoints.httpPort);
    expect(n.channels.sort((a, b) => a.order - b.order).map((c) => ({ ip: c.ipAddress, port: c.managementPort, user: c.username, online: c.online }))).toEqual(
      byPort.map((c) => ({ ip: '127.0.0.1', port: c.endpoints.httpPort, user: 'admin', online: true })),
    );
    expect(n.sortedOnce).toBe(true);

    // Cameras: DHCP off with the address kept, MD 2.0 with notification, codec switched only where supported.
    for (const c of [camA, camB]) {
      expect(c.state.network).toMatchObject({ dhcp: false, ipv4: '127.0.0.1' });
      expect(c.state.motionDetection).toMatchObject({ enabled: true, version: '2.0', wholeImage: true, notifySurveillanceCenter: true });
    }
    expect(camA.state.videoCodec).toBe('Smart H.265+');
    expect(camB.state.videoCodec).toBe('H.264');
    expect(camA.state.hdds).toEqual([expect.objectContaining({ type: 'sd', status: 'ok' })]);
    expect(camA.state.hikConnect).toEqual({ supported: true, enabled: true });
    expect(camB.state.hikConnect).toEqual({ supported: false, enabled: false });
    // Hik-Connect points at the box's own cloud.
    expect(camA.state.platform.url).toBe(PLATFORM_URL);
    expect(camB.state.platform.url).toBeNull();

    // Switches: DHCP on, except the EI-series one.
    expect(sw.state.network.dhcp).toBe(true);
    expect(ei.state.network.dhcp).toBe(false);
    expect(sw.state.hikConnect.enabled).toBe(true);

    // Reports: each step running then its outcome, in table order; n/a steps only skipped.
    const all = ['activate', 'network', 'firmware', 'time', 'storage', 'camera', 'hikConnect', 'nvrChannel', 'channels'];
    expect(trail(reports, nvr.serial)).toEqual([
      ...['activate', 'network', 'firmware', 'time', 'storage'].flatMap((s) => [`${s}:running`, `${s}:done`]),
      'camera:skipped',
      'hikConnect:running',
      'hikConnect:done',
      'nvrChannel:skipped',
      'channels:running',
      'channels:done',
    ]);
    expect(trail(reports, camA.serial)).toEqual([...all.slice(0, 8).flatMap((s) => [`${s}:running`, `${s}:done`]), 'channels:skipped']);
    expect(trail(reports, camB.serial)).toEqual([
      ...['activate', 'network', 'firmware', 'time', 'storage', 'camera', 'hikConnect'].flatMap((s) => [`${s}:running`, `${s}:${s === 'storage' || s === 'hikConnect' ? 'skipped' : 'done'}`]),
      'nvrChannel:running',
      'nvrChannel:done',
      'channels:skipped',
    ]);
    expect(trail(reports, ei.serial)).toContain('network:skipped');
    expect(trail(reports, sw.serial)).toContain('network:done');

    // Messages say what happened.
    expect(final(reports, nvr.serial, 'network')?.message).toMatch(/^DHCP turned on; now at 127\.0\.0\.2; ping \d+ ms \(green\)$/);
    expect(final(reports, nvr.serial, 'firmware')?.message).toMatch(/^V5\.8\.0 build 250101 available/);
    expect(final(reports, camA.serial, 'firmware')?.message).toMatch(/^up to date/);
    expect(final(reports, nvr.serial, 'storage')?.message).toBe('formatted disk 1; disk 2 holds data: not formatted');
    expect(final(reports, camA.serial, 'network')?.message).toMatch(/^DHCP turned off, 127\.0\.0\.1 kept as static address; ping/);
    expect(final(reports, camA.serial, 'camera')?.message).toContain('codec switched from Smart H.264+ to Smart H.265+');
    expect(final(reports, camB.serial, 'camera')?.message).toContain('codec H.264 kept');
    expect(final(reports, camB.serial, 'hikConnect')?.message).toBe('Hik-Connect not supported');
    expect(final(reports, camB.serial, 'storage')?.message).toBe('no SD card');
    expect(final(reports, ei.serial, 'network')?.message).toMatch(/^DHCP left off \(EI-series switches keep their setting\)/);
    expect(final(reports, sw.serial, 'storage')?.message).toBe('no storage on a switch');
    expect(final(reports, camA.serial, 'nvrChannel')?.message).toMatch(new RegExp(`^added as channel \\d+ of NVR ${nvr.serial}$`));
    expect(final(reports, nvr.serial, 'channels')?.message).toBe('2 channels sorted by IP address (2 online)');

    // Order across devices: the NVR before any camera, cameras added before the NVR sorts, job.done last.
    const nvrLast = indexOf(reports, (r) => 'serial' in r && r.serial === nvr.serial && r.step === 'nvrChannel');
    const firstCamera = indexOf(reports, (r) => 'serial' in r && (r.serial === camA.serial || r.serial === camB.serial));
    expect(nvrLast).toBeLessThan(firstCamera);
    const sorting = indexOf(reports, (r) => 'serial' in r && r.serial === nvr.serial && r.step === 'channels');
    for (const c of [camA, camB]) {
      expect(indexOf(reports, (r) => 'serial' in r && r.serial === c.serial && r.step === 'nvrChannel' && r.state === 'done')).toBeLessThan(sorting);
    }
    expect(reports.at(-1)).toEqual({ jobId: p.jobId, step: 'job.done' });
    expect(reports.filter((r) => r.step === 'job.done')).toHaveLength(1);
    expect(reports.every((r) => r.jobId === p.jobId)).toBe(true);
  });

  it('does not touch a device that is already activated', async () => {
    const host = await lan([
      { class: 'camera', activated: true, password: 'Other1234x', dhcp: true },
      { class: 'switch', activated: true, password: 'Other1234x' },
    ]);
    const [cam, sw] = host.devices as [SimDevice, SimDevice];
    const { reports, send } = sink();
    // The camera's SADP answer was stale (the job thinks it is not activated): the device refuses.
    const p = params([{ ...target(cam), activated: false }, target(sw)]);
    await runInitJob(p, jobOptions(host, send));

    for (const d of [cam, sw]) {
      expect(trail(reports, d.serial)).toEqual([
        'activate:running',
        'activate:failed',
        ...['network', 'firmware', 'time', 'storage', 'camera', 'hikConnect', 'nvrChannel', 'channels'].map((s) => `${s}:skipped`),
      ]);
      expect(final(reports, d.serial, 'activate')?.message).toBe('already activated');
      expect(final(reports, d.serial, 'time')?.message).toBe('the device was already activated');
      expect(d.state.password).toBe('Other1234x');
    }
    expect(cam.state.network.dhcp).toBe(true);
    expect(cam.state.counters.http).toBe(1);
    expect(sw.state.counters.http).toBe(0);
    expect(reports.at(-1)).toEqual({ jobId: p.jobId, step: 'job.done' });
  });

  it('refuses a weak password before asking the device', async () => {
    const host = await lan([{ class: 'camera' }]);
    const cam = host.devices[0]!;
    const { reports, send } = sink();
    await runInitJob(params([target(cam)], { password: 'abcdefgh' }), jobOptions(host, send));
    expect(final(reports, cam.serial, 'activate')).toMatchObject({ state: 'failed', message: expect.stringMatching(/^weak password: /) as unknown });
    expect(final(reports, cam.serial, 'network')).toMatchObject({ state: 'skipped', message: 'not activated' });
    expect(cam.state.activated).toBe(false);
  });

  it('goes straight to device adding with a PoE NVR', async () => {
    const host = await lan([{ class: 'nvr', flags: { poe: true }, ipChannels: 4 }, { class: 'camera' }]);
    const [nvr, cam] = host.devices as [SimDevice, SimDevice];
    const { reports, send } = sink();
    await runInitJob(params([target(cam), target(nvr)]), jobOptions(host, send));

    expect(final(reports, cam.serial, 'nvrChannel')).toMatchObject({ state: 'skipped', message: expect.stringContaining('PoE channels enabled by default') as unknown });
    expect(trail(reports, cam.serial)).not.toContain('nvrChannel:running');
    expect(final(reports, nvr.serial, 'channels')).toEqual(expect.objectContaining({ state: 'skipped', message: 'PoE channels: straight to device adding' }));
    expect(nvr.state.channels.every((c) => c.poe)).toBe(true);
    expect(nvr.state.channels).toHaveLength(4);
    expect(nvr.state.sortedOnce).toBe(false);
    expect(cam.state.activated).toBe(true);
  });

  it('skips channel adding when the job has no NVR', async () => {
    const host = await lan([{ class: 'camera' }]);
    const cam = host.devices[0]!;
    const { reports, send } = sink();
    await runInitJob(params([target(cam)]), jobOptions(host, send));
    expect(final(reports, cam.serial, 'nvrChannel')).toMatchObject({ state: 'skipped', message: 'no NVR in this job' });
    expect(final(reports, cam.serial, 'camera')?.state).toBe('done');
  });

  it('reports a device that does not answer and moves on', async () => {
    const host = await lan([{ class: 'switch' }, { class: 'switch' }]);
    const [down, up] = host.devices as [SimDevice, SimDevice];
    const { reports, send } = sink();
    const gone = { ...target(down), httpPort: 1 };
    await runInitJob(params([gone, target(up)]), jobOptions(host, send));
    expect(final(reports, down.serial, 'activate')).toMatchObject({ state: 'failed', message: expect.stringContaining('no answer from 127.0.0.1:1') as unknown });
    expect(final(reports, down.serial, 'network')?.state).toBe('skipped');
    expect(up.state.activated).toBe(true);
    expect(reports.at(-1)?.step).toBe('job.done');
  });
});

describe('jobs', () => {
  it('never runs two jobs on the same device, and runs a job id once', async () => {
    const host = await lan([{ class: 'switch' }, { class: 'switch' }]);
    const [shared, other] = host.devices as [SimDevice, SimDevice];
    const { reports, send } = sink();
    const jobs = new OnsiteJobs({ ...jobOptions(host, send), log: quietLog });
    const first = params([target(shared)]);
    const second = params([target(shared), target(other)]);
    expect(jobs.start(first)).toBe(true);
    expect(jobs.start(second)).toBe(true);
    expect(jobs.start(first)).toBe(false);
    expect(jobs.active).toBe(2);
    await Promise.all([jobs.whenDone(first.jobId), jobs.whenDone(second.jobId)]);

    const secondOnShared = reports.filter((r) => r.jobId === second.jobId && 'serial' in r && r.serial === shared.serial);
    expect(secondOnShared[0]).toMatchObject({ step: 'activate', state: 'failed', message: `another job (${first.jobId}) is initializing this device` });
    expect(secondOnShared.slice(1).every((r) => 'state' in r && r.state === 'skipped')).toBe(true);
    expect(reports.filter((r) => r.jobId === first.jobId && 'serial' in r && r.step === 'activate').map((r) => 'state' in r && r.state)).toEqual([
      'running',
      'done',
    ]);
    expect(other.state.activated).toBe(true);
    expect(reports.filter((r) => r.step === 'job.done')).toHaveLength(2);
    // Finished jobs free their devices; a repeated id is still ignored.
    expect(jobs.start(first)).toBe(false);
    expect(jobs.active).toBe(0);
    await jobs.stop();
  });
});
