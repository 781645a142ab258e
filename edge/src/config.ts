import { isIP, isIPv4 } from 'node:net';
import path from 'node:path';
import { SERIAL_PATTERN } from '@vigil/protocol';

/** Exit code for a configuration error (EX_CONFIG from sysexits.h). */
export const EXIT_CONFIG = 78;

export const LogLevel = { debug: 'debug', info: 'info', warn: 'warn', error: 'error' } as const;
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

export interface ProbeTarget {
  host: string;
  port: number;
}

export interface EdgeConfig {
  serial: string;
  verificationCode: string;
  /** The cloud's base URL as configured (http or https). */
  cloudUrl: string;
  /** Where MQTT runs: ws(s)://host:port/mqtt on the cloud's own port. */
  mqttUrl: string;
  dataDir: string;
  probeTargets: ProbeTarget[];
  deviceUser: string;
  devicePassword: string;
  heartbeatSec: number;
  discoveryIntervalMs: number;
  /** IPv4 of the LAN interface that SADP probes go out on (multicast); empty: no multicast discovery. */
  lanInterfaceIp: string;
  /** SADP endpoints probed by unicast every round, besides the multicast group. */
  sadpTargets: ProbeTarget[];
  lanIntervalMs: number;
  /** Where the alarm relay listens for its panels (DC-09 over TCP and UDP, same port); null: it does not. */
  alarmListen: ListenAddress | null;
  /** The key sealing the box's secrets at rest (64 hex digits); null: the key file in the data dir. */
  secretKey: string | null;
  /** The ffmpeg the media worker runs, and how many at most (each live stream, playback or clip is one). */
  ffmpegPath: string;
  mediaMaxStreams: number;
  /** The most disk the clips waiting for upload may take (VIGIL_EDGE_CLIP_QUOTA_MB); the oldest go first beyond it. */
  clipQuotaBytes: number;
  logLevel: LogLevel;
}

export interface ListenAddress {
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const serialRe = new RegExp(SERIAL_PATTERN);
const codeRe = /^[A-Za-z0-9]{6,32}$/;
const hostRe = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}))$/;

function parsePort(s: string): number | null {
  if (!/^[0-9]{1,5}$/.test(s)) return null;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : null;
}

function parseTargets(raw: string, problems: string[], key = 'VIGIL_EDGE_PROBE_TARGETS'): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const at = item.lastIndexOf(':');
    const host = at > 0 ? item.slice(0, at) : '';
    const port = at > 0 ? parsePort(item.slice(at + 1)) : null;
    if (!hostRe.test(host) || port === null) {
      problems.push(`${key}: ${JSON.stringify(item)} is not host:port`);
      continue;
    }
    out.push({ host: host.replace(/^\[(.*)\]$/, '$1'), port });
  }
  return out;
}

/** `address:port` with an IP address (IPv6 in brackets) and a port from 0; empty for none. */
function parseListen(env: NodeJS.ProcessEnv, key: string, problems: string[]): ListenAddress | null {
  const raw = (env[key] ?? '').trim();
  if (raw === '') return null;
  const m = /^\[?([^\]]+?)\]?:([0-9]{1,5})$/.exec(raw);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2] ?? -1);
  if (isIP(host) === 0 || port > 65535 || port < 0) {
    problems.push(`${key}: empty or address:port such as 0.0.0.0:7000, got ${JSON.stringify(raw)}`);
    return null;
  }
  return { host, port };
}

function parseInt(
  env: NodeJS.ProcessEnv,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    problems.push(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  return Number(raw);
}

/** Reads and checks every setting; all problems are reported together in one ConfigError. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const problems: string[] = [];

  const serial = env.VIGIL_EDGE_SERIAL ?? '';
  if (!serialRe.test(serial)) problems.push(`VIGIL_EDGE_SERIAL: required, must match ${SERIAL_PATTERN}`);

  const verificationCode = env.VIGIL_EDGE_VERIFICATION_CODE ?? '';
  if (!codeRe.test(verificationCode)) {
    problems.push('VIGIL_EDGE_VERIFICATION_CODE: required, 6 to 32 letters or digits');
  }

  const cloudUrl = env.VIGIL_CLOUD_URL ?? '';
  let mqttUrl = '';
  try {
    const u = new URL(cloudUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    if (u.username || u.password) throw new Error('credentials in URL');
    mqttUrl = `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/mqtt`;
  } catch {
    problems.push(`VIGIL_CLOUD_URL: required, an http:// or https:// URL such as https://cloud.example:8080, got ${JSON.stringify(cloudUrl)}`);
  }

  const dataDir = path.resolve(env.VIGIL_EDGE_DATA_DIR || '.vigil/edge');
  const probeTargets = parseTargets(env.VIGIL_EDGE_PROBE_TARGETS ?? '', problems);
  const deviceUser = env.VIGIL_EDGE_DEVICE_USER || 'admin';
  const devicePassword = env.VIGIL_EDGE_DEVICE_PASSWORD ?? '';
  const heartbeatSec = parseInt(env, 'VIGIL_EDGE_HEARTBEAT_SEC', 30, 1, 3600, problems);
  const discoveryIntervalMs = parseInt(env, 'VIGIL_EDGE_DISCOVERY_INTERVAL_MS', 10_000, 50, 3_600_000, problems);
  const lanInterfaceIp = (env.VIGIL_EDGE_LAN_INTERFACE_IP ?? '').trim();
  if (lanInterfaceIp !== '' && !isIPv4(lanInterfaceIp)) {
    problems.push(`VIGIL_EDGE_LAN_INTERFACE_IP: empty or an IPv4 address, got ${JSON.stringify(lanInterfaceIp)}`);
  }
  const sadpTargets = parseTargets(env.VIGIL_EDGE_SADP_TARGETS ?? '', problems, 'VIGIL_EDGE_SADP_TARGETS');
  const lanIntervalMs = parseInt(env, 'VIGIL_EDGE_LAN_INTERVAL_MS', 5_000, 50, 3_600_000, problems);
  const alarmListen = parseListen(env, 'VIGIL_EDGE_ALARM_LISTEN', problems);
  const secretKey = (env.VIGIL_EDGE_SECRET_KEY ?? '').trim();
  if (secretKey !== '' && !/^[0-9a-fA-F]{64}$/.test(secretKey)) {
    problems.push('VIGIL_EDGE_SECRET_KEY: empty or 64 hex digits (32 bytes)');
  }

  const ffmpegPath = env.VIGIL_FFMPEG || 'ffmpeg';
  const mediaMaxStreams = parseInt(env, 'VIGIL_EDGE_MEDIA_MAX_STREAMS', 32, 1, 256, problems);
  const clipQuotaBytes = parseInt(env, 'VIGIL_EDGE_CLIP_QUOTA_MB', 2048, 16, 1_048_576, problems) * 1024 * 1024;

  const rawLevel = env.VIGIL_LOG_LEVEL || 'info';
  const logLevel = rawLevel in LogLevel ? (rawLevel as LogLevel) : 'info';
  if (!(rawLevel in LogLevel)) {
    problems.push(`VIGIL_LOG_LEVEL: one of ${Object.keys(LogLevel).join(', ')}, got ${JSON.stringify(rawLevel)}`);
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    serial,
    verificationCode,
    cloudUrl,
    mqttUrl,
    dataDir,
    probeTargets,
    deviceUser,
    devicePassword,
    heartbeatSec,
    discoveryIntervalMs,
    lanInterfaceIp,
    sadpTargets,
    lanIntervalMs,
    alarmListen,
    secretKey: secretKey === '' ? null : secretKey,
    ffmpegPath,
    mediaMaxStreams,
    clipQuotaBytes,
    logLevel,
  };
}
