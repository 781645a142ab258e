import { setTimeout as delay } from 'node:timers/promises';
import {
  HddStatus,
  InitStep,
  IsapiPath,
  IsapiSubStatus,
  StepState,
  VideoCodec,
  buildActivateInfo,
  buildChannelOrder,
  buildEzviz,
  buildIpAddress,
  buildMotionDetection,
  buildNewInputProxyChannel,
  buildStreamingChannel,
  buildTime,
  devicePasswordProblem,
  hddFormatPath,
  isoLocalTime,
  parseDeviceInfo,
  parseEzviz,
  parseFirmwareStatus,
  parseInputProxyChannelList,
  parseIpAddress,
  parseMotionDetection,
  parseStorage,
  parseStreamingChannel,
  pingLevel,
  shortSerial,
  type InitProgress,
  type InitTarget,
  type LanDeviceClass,
  type LanInitializeParams,
} from '@vigil/protocol';
import { DeviceClient, DeviceRefused, DeviceUnreachable } from './device-client.js';
import { ianaOffsetMinutes, posixZone } from './time-zone.js';

/** The account every initialized device gets (and the edge logs in with). */
export const ADMIN_USER = 'admin';
const MAX_MESSAGE = 512;

/** Where a progress report goes; the job waits for it (the agent puts it in the outbox). */
export type ProgressSink = (progress: InitProgress) => Promise<void>;

/** Where LAN discovery last saw a device, by serial (long or short form). */
export type DeviceLocator = (serial: string) => { ip: string } | null | undefined;

export interface InitJobOptions {
  send: ProgressSink;
  /** Finds a device that stopped answering at its old address after a network change. */
  locate?: DeviceLocator;
  /** Devices worked on at once (default 4). */
  concurrency?: number;
  /** Per device request (default 10 s). */
  requestTimeoutMs?: number;
  /** How long a device may take to answer again after its network settings changed (default 30 s). */
  settleTimeoutMs?: number;
  /** The platform the devices' Hik-Connect service connects to (this box's cloud); absent: left as it is. */
  platformUrl?: string;
  /** Devices this job must not touch, with the reason (e.g. another job is initializing them). */
  unavailable?: ReadonlyMap<string, string>;
  signal?: AbortSignal;
  now?: () => number;
}

type Final = Exclude<StepState, 'running'>;
interface Outcome {
  state: Final;
  message: string;
  /** The device's remaining steps are skipped with this reason. */
  stop?: string;
}

interface DeviceRun {
  target: InitTarget;
  client: DeviceClient;
  model: string;
  /** Why the remaining steps are skipped, once a step stopped the device. */
  stopped: string | null;
  /** Requests to an NVR are made one at a time (cameras are added to it from several workers). */
  lock: Promise<unknown>;
}

interface JobState {
  params: LanInitializeParams;
  opts: Required<Pick<InitJobOptions, 'requestTimeoutMs' | 'settleTimeoutMs' | 'now'>> & InitJobOptions;
  /** The NVR cameras are added to, or why there is none. */
  nvr: { run: DeviceRun; poe: boolean } | { none: string };
}

interface Step {
  step: InitStep;
  running: string;
  /** Why the step does not apply to this device (reported as skipped without running), or null. */
  notApplicable?: (d: DeviceRun, job: JobState) => string | null;
  run: (d: DeviceRun, job: JobState) => Promise<Outcome>;
}

const done = (message: string): Outcome => ({ state: StepState.done, message });
const skipped = (message: string): Outcome => ({ state: StepState.skipped, message });
const failed = (message: string, stop?: string): Outcome => ({ state: StepState.failed, message, ...(stop ? { stop } : {}) });

const isCamera = (d: DeviceRun): boolean => d.target.deviceClass === 'camera';
const isNvr = (d: DeviceRun): boolean => d.target.deviceClass === 'nvr';
const normalSerial = (s: string): string => shortSerial(s) ?? s;

/** EI-series switches keep their DHCP setting (model names end in -EI, possibly with a suffix such as /M). */
export const isEiSeries = (model: string): boolean => /-EI(?![A-Z0-9])/i.test(model);

/** Table 3-2's network rule: what to do with DHCP, and why when nothing. */
export function dhcpPolicy(cls: LanDeviceClass, model: string): { dhcp: boolean } | { keep: string } {
  if (cls === 'nvr' || cls === 'dvr') return { dhcp: true };
  if (cls === 'camera') return { dhcp: false };
  if (cls === 'switch') return isEiSeries(model) ? { keep: 'EI-series switches keep their setting' } : { dhcp: true };
  return { keep: `a ${cls.replace('_', ' ')} keeps its default setting` };
}

// ------------------------------------------------------------------------------------------------ steps

const activate: Step = {
  step: InitStep.activate,
  running: 'activating',
  async run(d, job) {
    const { password, verificationCode } = job.params;
    const notActivated = 'not activated';
    if (d.target.activated) return failed('already activated', 'the device was already activated');
    const weak = devicePasswordProblem(password);
    if (weak) return failed(`weak password: ${weak}`, notActivated);
    const withCode = d.target.deviceClass !== 'ac_router' && verificationCode !== '';
    const body = buildActivateInfo({ username: ADMIN_USER, password, ...(withCode ? { verificationCode } : {}) });
    try {
      await d.client.sendPlain('PUT', IsapiPath.activate, body);
    } catch (e) {
      if (!(e instanceof DeviceRefused)) throw e;
      const detail = e.status?.errorMsg;
      if (e.subStatus === IsapiSubStatus.alreadyActivated) return failed('already activated', 'the device was already activated');
      if (e.subStatus === IsapiSubStatus.invalidPassword) return failed(`weak password${detail ? `: ${detail}` : ''}`, notActivated);
      if (e.subStatus === IsapiSubStatus.invalidVerificationCode) {
        return failed(`verification code refused${detail ? `: ${detail}` : ''}`, notActivated);
      }
      return failed(`activation refused: ${e.message}`, notActivated);
    }
    return done(withCode ? 'activated with the password and verification code' : 'activated with the password');
  },
};

const network: Step = {
  step: InitStep.network,
  running: 'configuring the network',
  async run(d, job) {
    const info = await d.client.get(IsapiPath.deviceInfo, parseDeviceInfo);
    d.model = info.model;
    const policy = dhcpPolicy(d.target.deviceClass, d.model);
    const cur = await d.client.get(IsapiPath.ipAddress, parseIpAddress);
    const before = d.client.ip;
    let what: string;
    let changed = false;
    if ('keep' in policy) {
      what = `DHCP left ${cur.dhcp ? 'on' : 'off'} (${policy.keep})`;
    } else if (policy.dhcp) {
      if (cur.dhcp) what = 'DHCP already on';
      else {
        await d.client.send('PUT', IsapiPath.ipAddress, buildIpAddress({ ...cur, dhcp: true }));
        what = 'DHCP turned on';
        changed = true;
      }
    } else {
      const ipv4 = cur.ipv4 || d.client.ip;
      if (!cur.dhcp) what = `DHCP already off, static address ${ipv4}`;
      else {
        await d.client.send('PUT', IsapiPath.ipAddress, buildIpAddress({ ...cur, ipv4, dhcp: false }));
        what = `DHCP turned off, ${ipv4} kept as static address`;
        changed = true;
      }
    }
    if (changed) await settle(d, job);
    const moved = d.client.ip !== before ? `; now at ${d.client.ip}` : '';
    let ms: number;
    try {
      ms = await ping(d, job, changed);
    } catch (e) {
      if (!(e instanceof DeviceUnreachable)) throw e;
      return failed(`${what}${moved}; ping test failed: ${e.message}`, `device not answering at ${d.client.address}`);
    }
    const message = `${what}${moved}; ping ${ms} ms (${pingLevel(ms)})`;
    return 'keep' in policy ? skipped(message) : done(message);
  },
};

/**
 * After a network change the device answers first and then takes its new address: ask it where it is
 * (at the old address while it still answers there), else ask LAN discovery, until the settle time ends.
 */
async function settle(d: DeviceRun, job: JobState): Promise<void> {
  const { now, settleTimeoutMs, locate, signal } = job.opts;
  const deadline = now() + settleTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const n = await d.client.get(IsapiPath.ipAddress, parseIpAddress, { timeoutMs: Math.min(2_000, job.opts.requestTimeoutMs) });
      if (n.ipv4 && n.ipv4 !== d.client.ip) d.client.moveTo(n.ipv4);
      return;
    } catch (e) {
      if (!(e instanceof DeviceUnreachable)) throw e;
      const seen = locate?.(d.target.serial);
      if (seen && seen.ip !== d.client.ip) {
        d.client.moveTo(seen.ip);
        return;
      }
      if (now() >= deadline) return;
    }
    await delay(Math.min(50 * 2 ** attempt, 1_000), undefined, signal ? { signal } : {});
  }
}

/** GET deviceInfo with Digest; the round trip in ms. Retries until the settle time ends when `retry`. */
async function ping(d: DeviceRun, job: JobState, retry: boolean): Promise<number> {
  const { now, settleTimeoutMs, signal } = job.opts;
  const deadline = now() + settleTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    const t0 = performance.now();
    try {
      await d.client.get(IsapiPath.deviceInfo, parseDeviceInfo);
      return Math.round(performance.now() - t0);
    } catch (e) {
      if (!(e instanceof DeviceUnreachable) || !retry || now() >= deadline) throw e;
    }
    await delay(Math.min(50 * 2 ** attempt, 1_000), undefined, signal ? { signal } : {});
  }
}

const firmware: Step = {
  step: InitStep.firmware,
  running: 'checking for a firmware update',
  async run(d) {
    try {
      const f = await d.client.get(IsapiPath.firmwareStatus, parseFirmwareStatus);
      if (f.upgradeAvailable && f.latestVersion) return done(`${f.latestVersion} available (installed ${f.currentVersion}); not upgraded`);
      return done(`up to date (${f.currentVersion})`);
    } catch (e) {
      if (e instanceof DeviceRefused && e.unsupported) return skipped('the device does not report firmware updates');
      throw e;
    }
  },
};

const time: Step = {
  step: InitStep.time,
  running: 'synchronizing the time',
  async run(d, job) {
    const at = job.opts.now();
    let offset: number;
    try {
      offset = ianaOffsetMinutes(job.params.timeZone, at);
    } catch {
      return failed(`unknown time zone ${job.params.timeZone}`);
    }
    const localTime = isoLocalTime(at, offset);
    await d.client.send('PUT', IsapiPath.time, buildTime({ timeMode: 'manual', localTime, timeZone: posixZone(offset) }));
    return done(`set to ${localTime} (${job.params.timeZone})`);
  },
};

const STORAGE_CLASSES: readonly string[] = ['nvr', 'dvr', 'camera'];

const storage: Step = {
  step: InitStep.storage,
  running: 'checking disks',
  notApplicable: (d) => (STORAGE_CLASSES.includes(d.target.deviceClass) ? null : `no storage on a ${d.target.deviceClass.replace('_', ' ')}`),
  async run(d) {
    let hdds;
    try {
      hdds = await d.client.get(IsapiPath.storage, parseStorage);
    } catch (e) {
      if (e instanceof DeviceRefused && e.unsupported) return skipped('the device has no storage');
      throw e;
    }
    if (hdds.length === 0) return skipped(isCamera(d) ? 'no SD card' : 'no disk installed');
    const formatted: string[] = [];
    const notes: string[] = [];
    const problems: string[] = [];
    for (const h of hdds) {
      const label = h.type === 'sd' ? `SD card ${h.id}` : `disk ${h.id}`;
      if (h.hasData) {
        notes.push(`${label} holds data: not formatted`);
        continue;
      }
      if (h.status !== HddStatus.new && h.status !== HddStatus.uninitialized) {
        notes.push(`${label} already initialized`);
        continue;
      }
      try {
        await d.client.send('PUT', hddFormatPath(h.id), '');
        formatted.push(label);
      } catch (e) {
        if (e instanceof DeviceRefused && e.subStatus === IsapiSubStatus.hddHasData) notes.push(`${label} holds data: not formatted`);
        else if (e instanceof DeviceRefused) problems.push(`${label} not formatted: ${e.message}`);
        else throw e;
      }
    }
    const parts = [...(formatted.length ? [`formatted ${formatted.join(', ')}`] : []), ...problems, ...notes];
    if (problems.length) return failed(parts.join('; '));
    if (formatted.length === 0) return done(`nothing to format: ${parts.join('; ')}`);
    return done(parts.join('; '));
  },
};

const camera: Step = {
  step: InitStep.camera,
  running: 'configuring motion detection and codec',
  notApplicable: (d) => (isCamera(d) ? null : 'cameras only'),
  async run(d) {
    const parts: string[] = [];
    try {
      const md = await d.client.get(IsapiPath.motionDetection, parseMotionDetection);
      await d.client.send('PUT', IsapiPath.motionDetection, buildMotionDetection({ ...md, enabled: true, wholeImage: true, notifySurveillanceCenter: true }));
      parts.push(
        md.version === '2.0'
          ? 'Motion Detection 2.0 on the whole image with Notify Surveillance Center'
          : `motion detection ${md.version} on the whole image with Notify Surveillance Center (2.0 not supported)`,
      );
    } catch (e) {
      if (!(e instanceof DeviceRefused && e.unsupported)) throw e;
      parts.push('motion detection not supported');
    }
    try {
      const sc = await d.client.get(IsapiPath.streamingChannel, parseStreamingChannel);
      if (sc.videoCodec === VideoCodec.smartH264 && sc.supportedCodecs.includes(VideoCodec.smartH265)) {
        await d.client.send('PUT', IsapiPath.streamingChannel, buildStreamingChannel({ ...sc, videoCodec: VideoCodec.smartH265 }));
        parts.push('codec switched from Smart H.264+ to Smart H.265+');
      } else if (sc.videoCodec === VideoCodec.smartH264) {
        parts.push('codec Smart H.264+ kept (Smart H.265+ not supported)');
      } else {
        parts.push(`codec ${sc.videoCodec} kept`);
      }
    } catch (e) {
      if (!(e instanceof DeviceRefused && e.unsupported)) throw e;
      parts.push('codec settings not available');
    }
    return done(parts.join('; '));
  },
};

const hikConnect: Step = {
  step: InitStep.hikConnect,
  running: 'enabling Hik-Connect',
  async run(d, job) {
    let current;
    try {
      current = await d.client.get(IsapiPath.ezviz, parseEzviz);
    } catch (e) {
      if (e instanceof DeviceRefused && e.unsupported) return skipped('Hik-Connect not supported');
      throw e;
    }
    const { verificationCode } = job.params;
    const withCode = d.target.deviceClass !== 'ac_router' && verificationCode !== '';
    // Pointed at this box's cloud, the device can also be reached there by itself (added by serial number).
    const server = job.opts.platformUrl;
    await d.client.send('PUT', IsapiPath.ezviz, buildEzviz({ enabled: true, ...(withCode ? { verificationCode } : {}), ...(server ? { serverAddress: server } : {}) }));
    const was = current.enabled ? ' (was already on)' : '';
    return done(withCode ? `Hik-Connect enabled with the verification code${was}` : `Hik-Connect enabled${was}`);
  },
};

/** Runs `fn` when the NVR's earlier requests are done. */
function withNvr<T>(nvr: DeviceRun, fn: () => Promise<T>): Promise<T> {
  const p = nvr.lock.then(fn);
  nvr.lock = p.catch(() => undefined);
  return p;
}

const nvrChannel: Step = {
  step: InitStep.nvrChannel,
  running: 'adding to the NVR',
  notApplicable(d, job) {
    if (!isCamera(d)) return 'cameras only';
    if ('none' in job.nvr) return job.nvr.none;
    if (job.nvr.poe) return `NVR ${job.nvr.run.target.serial} has PoE channels enabled by default: straight to device adding`;
    return null;
  },
  async run(d, job) {
    if ('none' in job.nvr) return skipped(job.nvr.none);
    const nvr = job.nvr.run;
    const of = `of NVR ${nvr.target.serial}`;
    return withNvr(nvr, async () => {
      const list = await nvr.client.get(IsapiPath.inputProxyChannels, parseInputProxyChannelList);
      const existing = list.channels.find((c) => c.ipAddress === d.client.ip && c.managementPort === d.client.port);
      if (existing) return done(`already channel ${existing.id} ${of}`);
      try {
        const s = await nvr.client.send(
          'POST',
          IsapiPath.inputProxyChannels,
          buildNewInputProxyChannel({ ipAddress: d.client.ip, managementPort: d.client.port, username: ADMIN_USER, password: job.params.password }),
        );
        return done(s?.id === undefined ? `added as an IP channel ${of}` : `added as channel ${s.id} ${of}`);
      } catch (e) {
        if (e instanceof DeviceRefused) return failed(`not added to NVR ${nvr.target.serial}: ${e.message}`);
        if (e instanceof DeviceUnreachable) return failed(`NVR ${nvr.target.serial} not answering: ${e.message}`);
        throw e;
      }
    });
  },
};

const ipKey = (ip: string): number => ip.split('.').reduce((n, o) => n * 256 + (Number(o) || 0), 0);

const channels: Step = {
  step: InitStep.channels,
  running: 'sorting channels',
  notApplicable: (d) => (isNvr(d) ? null : 'NVR only'),
  async run(d) {
    return withNvr(d, async () => {
      const list = await d.client.get(IsapiPath.inputProxyChannels, parseInputProxyChannelList);
      if (list.channels.some((c) => c.poe)) return skipped('PoE channels: straight to device adding');
      const n = list.channels.length;
      if (n <= 1) return skipped(n === 0 ? 'no channels to sort' : 'one channel: nothing to sort');
      const sorted = [...list.channels].sort((a, b) => ipKey(a.ipAddress) - ipKey(b.ipAddress) || a.managementPort - b.managementPort || a.id - b.id);
      await d.client.send('PUT', IsapiPath.inputProxyChannelOrder, buildChannelOrder(sorted.map((c) => c.id)));
      const online = list.channels.filter((c) => c.online).length;
      return done(`${n} channels sorted by IP address (${online} online)`);
    });
  },
};

/** Table 3-2 in order. An NVR's channel step runs after every camera of the job has been added. */
export const STEPS: readonly Step[] = [activate, network, firmware, time, storage, camera, hikConnect, nvrChannel, channels];

// ------------------------------------------------------------------------------------------------- job

/**
 * Initializes the devices of one job: recorders first, then the other devices (cameras are added to the
 * job's NVR), then the NVRs sort their channels. Every step of every device is reported (running, then
 * done / skipped / failed), and `job.done` last. Throws only when stopped (`signal`) or when a report
 * cannot be delivered.
 */
export async function runInitJob(params: LanInitializeParams, options: InitJobOptions): Promise<void> {
  const opts = { requestTimeoutMs: 10_000, settleTimeoutMs: 30_000, now: Date.now, ...options };
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const job: JobState = { params, opts, nvr: { none: 'no NVR in this job' } };
  const seen = new Set<string>();
  const runs: DeviceRun[] = [];
  for (const target of params.devices) {
    if (seen.has(normalSerial(target.serial))) continue;
    seen.add(normalSerial(target.serial));
    runs.push({
      target,
      client: new DeviceClient({
        ip: target.ip,
        port: target.httpPort,
        username: ADMIN_USER,
        password: params.password,
        timeoutMs: opts.requestTimeoutMs,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
      model: '',
      stopped: null,
      lock: Promise.resolve(),
    });
  }

  const report = (d: DeviceRun, step: InitStep, state: StepState, message: string): Promise<void> =>
    opts.send({ jobId: params.jobId, serial: d.target.serial, step, state, message: message.slice(0, MAX_MESSAGE) });

  const runSteps = async (d: DeviceRun, steps: readonly Step[]): Promise<void> => {
    for (const s of steps) {
      opts.signal?.throwIfAborted();
      if (d.stopped !== null) {
        await report(d, s.step, StepState.skipped, d.stopped);
        continue;
      }
      const na = s.notApplicable?.(d, job);
      if (na) {
        await report(d, s.step, StepState.skipped, na);
        continue;
      }
      await report(d, s.step, StepState.running, s.running);
      let outcome: Outcome;
      try {
        outcome = await s.run(d, job);
      } catch (e) {
        opts.signal?.throwIfAborted();
        const message = e instanceof Error ? e.message : String(e);
        outcome = e instanceof DeviceUnreachable ? failed(message, `device not answering at ${d.client.address}`) : failed(message);
      }
      if (outcome.stop) d.stopped = outcome.stop;
      await report(d, s.step, outcome.state, outcome.message);
    }
  };

  const unavailable = (d: DeviceRun): string | undefined =>
    options.unavailable?.get(d.target.serial) ?? options.unavailable?.get(normalSerial(d.target.serial));
  const mainSteps = (d: DeviceRun): readonly Step[] => (isNvr(d) ? STEPS.filter((s) => s !== channels) : STEPS);
  const runDevice = async (d: DeviceRun): Promise<void> => {
    const reason = unavailable(d);
    if (reason !== undefined) {
      await report(d, InitStep.activate, StepState.failed, reason);
      d.stopped = 'the device is busy in another job';
    }
    await runSteps(d, reason !== undefined ? STEPS.slice(1) : mainSteps(d));
  };

  const recorders = runs.filter((d) => d.target.deviceClass === 'nvr' || d.target.deviceClass === 'dvr');
  const others = runs.filter((d) => !recorders.includes(d));
  await pool(recorders, concurrency, runDevice);
  job.nvr = await pickNvr(runs);
  await pool(others, concurrency, runDevice);
  await pool(
    runs.filter((d) => isNvr(d) && unavailable(d) === undefined),
    concurrency,
    (d) => runSteps(d, [channels]),
  );
  await opts.send({ jobId: params.jobId, step: 'job.done' });
}

/** The job's first NVR that was initialized, and whether it has PoE channels. */
async function pickNvr(runs: readonly DeviceRun[]): Promise<JobState['nvr']> {
  const nvrs = runs.filter(isNvr);
  if (nvrs.length === 0) return { none: 'no NVR in this job' };
  const run = nvrs.find((d) => d.stopped === null);
  if (!run) return { none: `NVR ${nvrs[0]!.target.serial} was not initialized` };
  try {
    const list = await withNvr(run, () => run.client.get(IsapiPath.inputProxyChannels, parseInputProxyChannelList));
    return { run, poe: list.channels.some((c) => c.poe) };
  } catch (e) {
    return { none: `channels of NVR ${run.target.serial} not readable: ${e instanceof Error ? e.message : String(e)}` };
  }
}

async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}
