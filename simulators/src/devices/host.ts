import { LanDeviceClass, SADP_MULTICAST_GROUP, SADP_PORT, fail, ok, type Result } from '@vigil/protocol';
import { WSD_PORT } from '@vigil/protocol/onvif';
import { alertHeartbeatProblem } from '../recorder/alerts.js';
import { recordingOptionsProblem } from '../recorder/recordings.js';
import { platformMqttUrl } from './platform-client.js';
import { SimDevice, type SimDeviceEndpoints, type SimDeviceOptions } from './sim-device.js';
import { UdpHub } from './udp-hub.js';

/** What `vigil-sim lan` reads: the shared ports and the devices. */
export interface LanSpec {
  /** Default 37020; 0 picks a free port (shared by every device of the host). */
  sadpPort?: number;
  /** Default 3702; 0 picks a free port. */
  wsdPort?: number;
  /** Join the multicast group (default true). */
  multicast?: boolean;
  devices: SimDeviceOptions[];
}

export interface LanReadyLine {
  ready: true;
  devices: SimDeviceEndpoints[];
}

/** Many simulated devices in one process, sharing the SADP and WS-Discovery ports. */
export class DeviceHost {
  readonly devices: SimDevice[];
  private readonly sadp: UdpHub;
  private readonly wsd: UdpHub;

  constructor(spec: LanSpec) {
    const multicast = spec.multicast ?? true;
    this.sadp = new UdpHub({ port: spec.sadpPort ?? SADP_PORT, group: SADP_MULTICAST_GROUP, multicast });
    this.wsd = new UdpHub({ port: spec.wsdPort ?? WSD_PORT, group: SADP_MULTICAST_GROUP, multicast });
    this.devices = spec.devices.map((d) => new SimDevice(d));
  }

  /** The device with this serial (long or short form). */
  device(serial: string): SimDevice | undefined {
    return this.devices.find((d) => d.serial === serial || d.endpoints.shortSerial === serial);
  }

  /** Starts every device (one after the other, so they share the ports); on failure stops them all. */
  async start(): Promise<SimDeviceEndpoints[]> {
    try {
      for (const d of this.devices) await d.start({ sadp: this.sadp, wsd: this.wsd });
    } catch (e) {
      await this.stop();
      throw e;
    }
    return this.devices.map((d) => d.endpoints);
  }

  async stop(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.stop()));
    await Promise.all([this.sadp.close(), this.wsd.close()]);
  }
}

// ------------------------------------------------------------------------------------------- spec parsing

const CLASSES = new Set<string>(Object.values(LanDeviceClass));
const IPV4 = /^((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const FIELD_TYPES: Record<string, 'string' | 'ip' | 'port' | 'int' | 'boolean' | 'object' | 'array' | 'url'> = {
  model: 'string',
  serial: 'string',
  name: 'string',
  ip: 'ip',
  listenIp: 'ip',
  multicastInterface: 'ip',
  mask: 'ip',
  gateway: 'string',
  dns: 'string',
  dhcp: 'boolean',
  dhcpLease: 'object',
  mac: 'string',
  httpPort: 'port',
  commandPort: 'port',
  activated: 'boolean',
  username: 'string',
  password: 'string',
  verificationCode: 'string',
  latencyMs: 'int',
  reachable: 'boolean',
  firmware: 'string',
  latestFirmware: 'string',
  capabilities: 'array',
  flags: 'object',
  hdds: 'array',
  ipChannels: 'int',
  poePorts: 'int',
  uplinkPorts: 'int',
  aggregation: 'array',
  maxVlansPerBatch: 'int',
  analogChannels: 'int',
  accessPoints: 'array',
  channels: 'array',
  rebootMs: 'int',
  clockOffsetMs: 'int',
  timeZone: 'string',
  channelCheckTimeoutMs: 'int',
  platformUrl: 'url',
  hikConnect: 'boolean',
  rtspPort: 'port',
  encryption: 'boolean',
  recordingHours: 'int',
  recordingGaps: 'array',
  channelStreams: 'object',
  alertHeartbeatMs: 'int',
};

function fieldProblem(kind: string, v: unknown): string | undefined {
  switch (kind) {
    case 'string':
      return typeof v === 'string' ? undefined : 'must be a string';
    case 'ip':
      return typeof v === 'string' && IPV4.test(v) ? undefined : 'must be an IPv4 address';
    case 'port':
      return Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535 ? undefined : 'must be a port number (0 picks one)';
    case 'int':
      return Number.isInteger(v) ? undefined : 'must be an integer';
    case 'boolean':
      return typeof v === 'boolean' ? undefined : 'must be true or false';
    case 'object':
      return isObj(v) ? undefined : 'must be an object';
    case 'array':
      return Array.isArray(v) ? undefined : 'must be an array';
    case 'url':
      return typeof v === 'string' && platformMqttUrl(v) !== null ? undefined : 'must be an http(s) URL';
  }
  return undefined;
}

/** Checks a spec read from JSON. Never throws. */
export function parseLanSpec(input: unknown): Result<LanSpec> {
  if (!isObj(input)) return fail('spec must be an object');
  for (const k of Object.keys(input)) if (!['sadpPort', 'wsdPort', 'multicast', 'devices'].includes(k)) return fail(`spec: unknown field ${k}`);
  for (const k of ['sadpPort', 'wsdPort'] as const) {
    if (input[k] !== undefined && fieldProblem('port', input[k])) return fail(`spec.${k} must be a port number`);
  }
  if (input.multicast !== undefined && typeof input.multicast !== 'boolean') return fail('spec.multicast must be true or false');
  if (!Array.isArray(input.devices) || input.devices.length === 0) return fail('spec.devices must be a non-empty array');
  for (const [i, d] of input.devices.entries()) {
    const where = `spec.devices[${i}]`;
    if (!isObj(d)) return fail(`${where} must be an object`);
    if (typeof d.class !== 'string' || !CLASSES.has(d.class)) return fail(`${where}.class must be one of ${[...CLASSES].join(', ')}`);
    for (const [k, v] of Object.entries(d)) {
      if (k === 'class') continue;
      const kind = FIELD_TYPES[k];
      if (!kind) return fail(`${where}: unknown field ${k}`);
      const p = fieldProblem(kind, v);
      if (p) return fail(`${where}.${k} ${p}`);
    }
    if (d.activated === true && d.password === undefined) return fail(`${where}: an activated device needs a password`);
    const recording = recordingOptionsProblem({ hours: d.recordingHours as number | undefined, gaps: d.recordingGaps as never });
    if (recording) return fail(`${where}.${recording}`);
    if (d.alertHeartbeatMs !== undefined && alertHeartbeatProblem(d.alertHeartbeatMs)) return fail(`${where}.${alertHeartbeatProblem(d.alertHeartbeatMs)}`);
    if (Array.isArray(d.aggregation) && !d.aggregation.every((g) => Array.isArray(g) && g.every((p) => Number.isInteger(p)))) {
      return fail(`${where}.aggregation must be lists of port numbers, e.g. [[9,10]]`);
    }
  }
  return ok(input as unknown as LanSpec);
}
