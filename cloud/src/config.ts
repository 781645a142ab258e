import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { OFFLINE_DELAY_MIN_SEC, passwordProblem } from '@vigil/protocol/api';

/** Everything the cloud can be told at start-up, read from the environment and validated at once. */
export interface CloudConfig {
  httpHost: string;
  httpPort: number;
  /** Plain MQTT over TCP besides MQTT over WebSocket on the HTTP port; null: not listening. */
  mqttTcpPort: number | null;
  databaseUrl: string | null;
  dataDir: string;
  publicUrl: string | null;
  tls: { cert: Buffer; key: Buffer } | null;
  uiDir: string | null;
  minOfflineDelaySec: number;
  /** The length of "1 hour" for permission validities (tests shorten it to see a grant expire). */
  permissionHourMs: number;
  loginMaxFailures: number;
  loginLockSec: number;
  claimMaxFailures: number;
  claimLockSec: number;
  jobPollMs: number;
  rpcTimeoutMs: number;
  /** How long a video window waits for its player to connect (its ticket lives as long) before it is freed. */
  videoConnectTimeoutMs: number;
  /** How long the server path waits for an ARC receiver's ACK before sending the same frame again. */
  /**
   * Devices added by IP/domain must be on public addresses (mapped on the WAN): the cloud refuses to call into
   * private, loopback and link-local networks unless this is set (a private deployment, tests).
   */
  allowPrivateDeviceAddresses: boolean;
  /** How often the cloud checks that each IP/domain device answers. */
  ipDomainPollSec: number;
  /** The most of its uplink an edge box's clip uploads may take (kbps); null: no limit. */
  clipUploadLimitKbps: number | null;
  /** Where finished clips are kept: an S3-compatible bucket, or null for the folder `{dataDir}/clips`. */
  clipS3: ClipS3Config | null;
  /** How often retention deletes expired clips and abandoned uploads. */
  clipRetentionIntervalMs: number;
  bodyLimitBytes: number;
  logLevel: string;
  /**
   * The key that encrypts secrets kept at rest (device passwords, verification codes): 32 bytes. Null: a key
   * generated once into `{dataDir}/secret.key` is used.
   */
  secretKey: Buffer | null;
  /** Where outgoing mail goes (smtp:// or smtps://, with user:pass@ when the server wants them); null: `.eml` files in `{dataDir}/mail`. */
  smtpUrl: string | null;
  /** The From of every mail the platform sends. */
  mailFrom: string;
  /** Deliveries tried before a mail is marked failed. */
  mailMaxAttempts: number;
  /** Where text messages are POSTed as JSON {to, text} (an SMS gateway); null: JSON files in `{dataDir}/sms`. */
  smsUrl: string | null;
  /** Deliveries tried before a text message is marked failed. */
  smsMaxAttempts: number;
  /** The platform operator's account, ensured at start-up; null: none. */
  vendorAdmin: { email: string; password: string } | null;
}

/** An S3-compatible object store, addressed path-style (`{endpoint}/{bucket}/{key}`). */
export interface ClipS3Config {
  endpoint: string;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

/** Reads the configuration; throws one ConfigError naming every bad key. */
export function loadConfig(env: Env = process.env): CloudConfig {
  const problems: string[] = [];
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return n;
  };
  const bool = (key: string): boolean => {
    const raw = env[key];
    if (raw === undefined || raw === '' || raw === '0' || raw === 'false') return false;
    if (raw === '1' || raw === 'true') return true;
    problems.push(`${key}=${JSON.stringify(raw)}: expected 1/true or 0/false`);
    return false;
  };
  const optionalInt = (key: string, min: number, max: number): number | null =>
    env[key] === undefined || env[key] === '' ? null : int(key, 0, min, max);

  const databaseUrl = env.DATABASE_URL || null;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push('DATABASE_URL: expected a postgres:// or postgresql:// URL');
  }
  const publicUrl = env.VIGIL_PUBLIC_URL || null;
  if (publicUrl && !/^https?:\/\/[^/]+/.test(publicUrl)) problems.push('VIGIL_PUBLIC_URL: expected an http(s):// URL');

  let tls: CloudConfig['tls'] = null;
  const certPath = env.VIGIL_TLS_CERT;
  const keyPath = env.VIGIL_TLS_KEY;
  if (certPath || keyPath) {
    if (!certPath || !keyPath) problems.push('VIGIL_TLS_CERT and VIGIL_TLS_KEY: give both or neither');
    else if (!existsSync(certPath)) problems.push(`VIGIL_TLS_CERT: no file at ${certPath}`);
    else if (!existsSync(keyPath)) problems.push(`VIGIL_TLS_KEY: no file at ${keyPath}`);
    else tls = { cert: readFileSync(certPath), key: readFileSync(keyPath) };
  }

  const uiDir = env.VIGIL_UI_DIR ? resolve(env.VIGIL_UI_DIR) : defaultUiDir();
  if (env.VIGIL_UI_DIR && !existsSync(join(uiDir ?? '', 'index.html'))) {
    problems.push(`VIGIL_UI_DIR: no index.html in ${env.VIGIL_UI_DIR}`);
  }
  const logLevel = env.VIGIL_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    problems.push(`VIGIL_LOG_LEVEL=${JSON.stringify(logLevel)}: expected fatal, error, warn, info, debug, trace or silent`);
  }

  let secretKey: Buffer | null = null;
  const rawKey = env.VIGIL_SECRET_KEY;
  if (rawKey) {
    if (/^[0-9a-fA-F]{64}$/.test(rawKey)) secretKey = Buffer.from(rawKey, 'hex');
    else problems.push('VIGIL_SECRET_KEY: expected 64 hexadecimal characters (32 bytes)');
  }

  const clipS3 = clipS3Config(env, problems);
  const smtpUrl = smtpUrlOf(env.VIGIL_SMTP_URL, problems);
  const vendorAdmin = vendorAdminOf(env, problems);
  const smsUrl = env.VIGIL_SMS_URL || null;
  if (smsUrl && !/^https?:\/\/[^/]+/.test(smsUrl)) problems.push('VIGIL_SMS_URL: expected an http(s):// URL');

  const config: CloudConfig = {
    httpHost: env.VIGIL_HTTP_HOST || '127.0.0.1',
    httpPort: int('VIGIL_HTTP_PORT', 8080, 0, 65535),
    mqttTcpPort: optionalInt('VIGIL_MQTT_TCP_PORT', 0, 65535),
    databaseUrl,
    dataDir: resolve(env.VIGIL_DATA_DIR || '.vigil/cloud'),
    publicUrl,
    tls,
    uiDir,
    minOfflineDelaySec: int('VIGIL_MIN_OFFLINE_DELAY_SEC', OFFLINE_DELAY_MIN_SEC, 1, OFFLINE_DELAY_MIN_SEC),
    permissionHourMs: int('VIGIL_PERMISSION_HOUR_MS', 3_600_000, 100, 3_600_000),
    loginMaxFailures: int('VIGIL_LOGIN_MAX_FAILURES', 5, 1, 100),
    loginLockSec: int('VIGIL_LOGIN_LOCK_SEC', 900, 1, 86_400),
    claimMaxFailures: int('VIGIL_CLAIM_MAX_FAILURES', 5, 1, 100),
    claimLockSec: int('VIGIL_CLAIM_LOCK_SEC', 900, 1, 86_400),
    jobPollMs: int('VIGIL_JOB_POLL_MS', 1000, 10, 60_000),
    rpcTimeoutMs: int('VIGIL_RPC_TIMEOUT_MS', 10_000, 100, 300_000),
    videoConnectTimeoutMs: int('VIGIL_VIDEO_CONNECT_TIMEOUT_MS', 15_000, 100, 300_000),
    allowPrivateDeviceAddresses: bool('VIGIL_ALLOW_PRIVATE_DEVICE_ADDRESSES'),
    ipDomainPollSec: int('VIGIL_IP_DOMAIN_POLL_SEC', 60, 1, 3600),
    clipUploadLimitKbps: optionalInt('VIGIL_CLIP_UPLOAD_LIMIT_KBPS', 64, 1_000_000),
    clipS3,
    clipRetentionIntervalMs: int('VIGIL_CLIP_RETENTION_INTERVAL_MS', 10 * 60 * 1000, 100, 24 * 60 * 60 * 1000),
    bodyLimitBytes: int('VIGIL_BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    logLevel,
    secretKey,
    smtpUrl,
    mailFrom: env.VIGIL_MAIL_FROM || 'Vigil <no-reply@localhost>',
    mailMaxAttempts: int('VIGIL_MAIL_MAX_ATTEMPTS', 10, 1, 100),
    smsUrl,
    smsMaxAttempts: int('VIGIL_SMS_MAX_ATTEMPTS', 10, 1, 100),
    vendorAdmin,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** The clip bucket: every VIGIL_CLIP_S3_* key (the region has a default) or none of them. */
function clipS3Config(env: Env, problems: string[]): ClipS3Config | null {
  const keys = ['VIGIL_CLIP_S3_ENDPOINT', 'VIGIL_CLIP_S3_BUCKET', 'VIGIL_CLIP_S3_ACCESS_KEY', 'VIGIL_CLIP_S3_SECRET_KEY'] as const;
  const given = keys.filter((k) => env[k]);
  if (given.length === 0 && !env.VIGIL_CLIP_S3_REGION) return null;
  if (given.length < keys.length) {
    problems.push(`${keys.filter((k) => !env[k]).join(', ')}: the clip bucket needs all of ${keys.join(', ')}, or none (clips on local disk)`);
    return null;
  }
  const endpoint = env.VIGIL_CLIP_S3_ENDPOINT!.replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(endpoint)) problems.push('VIGIL_CLIP_S3_ENDPOINT: expected an http(s):// URL');
  const bucket = env.VIGIL_CLIP_S3_BUCKET!;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) problems.push(`VIGIL_CLIP_S3_BUCKET=${JSON.stringify(bucket)}: expected a bucket name (3 to 63 lower-case letters, digits, dots, hyphens)`);
  return { endpoint, bucket, accessKey: env.VIGIL_CLIP_S3_ACCESS_KEY!, secretKey: env.VIGIL_CLIP_S3_SECRET_KEY!, region: env.VIGIL_CLIP_S3_REGION || 'us-east-1' };
}

function smtpUrlOf(raw: string | undefined, problems: string[]): string | null {
  if (!raw) return null;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || !['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) {
    problems.push('VIGIL_SMTP_URL: expected smtp://[user:pass@]host[:port] or smtps://...');
    return null;
  }
  return raw;
}

/** The vendor admin's email and password: both or neither, the password as strong as any account's. */
function vendorAdminOf(env: Env, problems: string[]): CloudConfig['vendorAdmin'] {
  const email = env.VIGIL_VENDOR_ADMIN_EMAIL;
  const password = env.VIGIL_VENDOR_ADMIN_PASSWORD;
  if (!email && !password) return null;
  if (!email || !password) {
    problems.push('VIGIL_VENDOR_ADMIN_EMAIL and VIGIL_VENDOR_ADMIN_PASSWORD: give both or neither');
    return null;
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) problems.push(`VIGIL_VENDOR_ADMIN_EMAIL=${JSON.stringify(email)}: expected an email address`);
  const problem = passwordProblem(password, email);
  if (problem) problems.push(`VIGIL_VENDOR_ADMIN_PASSWORD: ${problem}`);
  return { email, password };
}

/** The portal's built files, when the ui package has been built. */
function defaultUiDir(): string | null {
  try {
    const pkg = createRequire(import.meta.url).resolve('@vigil/ui/package.json');
    const dir = join(dirname(pkg), 'dist');
    return existsSync(join(dir, 'index.html')) ? dir : null;
  } catch {
    return null;
  }
}
