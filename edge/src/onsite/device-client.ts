import {
  DigestClient,
  ISAPI_CONTENT_TYPE,
  ISAPI_MAX_BODY_BYTES,
  IsapiSubStatus,
  parseResponseStatus,
  type ResponseStatus,
  type Result,
} from '@vigil/protocol';

/** The device did not answer at all (refused, reset, timed out). */
export class DeviceUnreachable extends Error {
  constructor(
    readonly address: string,
    reason: string,
  ) {
    super(`no answer from ${address}: ${reason}`);
  }
}

/** The device answered with an error status (its ResponseStatus when it sent one). */
export class DeviceRefused extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: ResponseStatus | null,
    what: string,
  ) {
    super(`${what}: ${describeStatus(httpStatus, status)}`);
  }

  get subStatus(): string {
    return this.status?.subStatusCode ?? '';
  }

  /** The device does not have this resource or feature. */
  get unsupported(): boolean {
    return this.httpStatus === 404 || this.subStatus === IsapiSubStatus.notSupport || this.subStatus === IsapiSubStatus.notFound;
  }
}

function describeStatus(httpStatus: number, s: ResponseStatus | null): string {
  if (!s) return `HTTP ${httpStatus}`;
  const detail = s.errorMsg ? `: ${s.errorMsg}` : '';
  return `${s.statusString || `status ${s.statusCode}`} (${s.subStatusCode || 'no detail'})${detail}`;
}

export interface DeviceClientOptions {
  ip: string;
  port: number;
  username: string;
  password: string;
  /** Per request. */
  timeoutMs: number;
  /** Aborts every request (job stopped). */
  signal?: AbortSignal;
}

/**
 * One device's ISAPI over HTTP with Digest authentication. The address may change (DHCP): `moveTo` points
 * later requests at the new one; the Digest session is kept.
 */
export class DeviceClient {
  private readonly digest: DigestClient;
  ip: string;
  readonly port: number;

  constructor(private readonly opts: DeviceClientOptions) {
    this.ip = opts.ip;
    this.port = opts.port;
    this.digest = new DigestClient(opts.username, opts.password);
  }

  get address(): string {
    return `${this.ip}:${this.port}`;
  }

  moveTo(ip: string): void {
    this.ip = ip;
  }

  /** GET and parse; throws DeviceUnreachable, DeviceRefused, or an Error for an unreadable body. */
  async get<T>(path: string, parse: (body: string) => Result<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
    const body = await this.request('GET', path, undefined, opts.timeoutMs);
    const r = parse(body);
    if (!r.ok) throw new Error(`unreadable answer to GET ${path}: ${r.error}`);
    return r.value;
  }

  /** PUT or POST an XML body, or DELETE; returns the ResponseStatus of the answer (null when it sent none). */
  async send(method: 'PUT' | 'POST' | 'DELETE', path: string, body?: string): Promise<ResponseStatus | null> {
    const text = await this.request(method, path, body);
    const s = parseResponseStatus(text);
    return s.ok ? s.value : null;
  }

  /** Without authentication (activation of a device that has no password yet). */
  async sendPlain(method: 'PUT', path: string, body: string): Promise<ResponseStatus | null> {
    const text = await this.request(method, path, body, undefined, false);
    const s = parseResponseStatus(text);
    return s.ok ? s.value : null;
  }

  private async request(method: string, path: string, body: string | undefined, timeoutMs = this.opts.timeoutMs, auth = true): Promise<string> {
    const url = `http://${this.address}${path}`;
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (this.opts.signal) signals.push(this.opts.signal);
    const init: RequestInit = {
      method,
      signal: AbortSignal.any(signals),
      ...(body === undefined ? {} : { body, headers: { 'content-type': ISAPI_CONTENT_TYPE } }),
    };
    let res: Response;
    try {
      res = auth ? await this.digest.fetch(url, init) : await fetch(url, init);
    } catch (e) {
      if (this.opts.signal?.aborted) throw this.opts.signal.reason as Error;
      throw new DeviceUnreachable(this.address, reason(e));
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw new DeviceUnreachable(this.address, reason(e));
    }
    if (text.length > ISAPI_MAX_BODY_BYTES) throw new Error(`answer to ${method} ${path} is too large`);
    if (res.status >= 200 && res.status < 300) return text;
    const s = parseResponseStatus(text);
    throw new DeviceRefused(res.status, s.ok ? s.value : null, `${method} ${path}`);
  }
}

function reason(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'TimeoutError') return 'timed out';
  const cause = (e as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? code : cause.message;
  }
  return e.message;
}
