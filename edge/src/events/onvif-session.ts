import {
  FaultSubcode,
  buildGetSystemDateAndTime,
  describeFault,
  faultHas,
  parseEnvelope,
  parseFault,
  parseGetSystemDateAndTimeResponse,
  usernameTokenHeader,
  type SoapFault,
} from '@vigil/protocol/onvif';
import type { DeviceAccount } from '../media/devices.js';
import { isUnreachable } from '../media/errors.js';

const SOAP_CONTENT_TYPE = 'application/soap+xml; charset=utf-8';
const MAX_ANSWER_BYTES = 1024 * 1024;

/** Why a call failed: nothing answered, the login (or its clock) was refused, the device faulted, or it answered nonsense. */
export type OnvifFailure = 'unreachable' | 'notAuthorized' | 'fault' | 'badAnswer';

export class OnvifCallError extends Error {
  constructor(
    readonly failure: OnvifFailure,
    message: string,
    readonly fault?: SoapFault,
  ) {
    super(message);
  }
}

/**
 * SOAP calls to one ONVIF device, signed with WS-UsernameToken on the device's clock. The offset between the
 * device's clock and the box's is measured first (GetSystemDateAndTime, to the second) and can be refined with
 * the millisecond times the device writes in its answers; a NotAuthorized answer re-reads the clock and the
 * call is tried once more, since a device whose clock moved refuses tokens dated on the old one.
 */
export class OnvifSession {
  /** The device's clock minus the box's, in ms. */
  clockOffsetMs = 0;

  constructor(
    readonly deviceServiceUrl: string,
    private readonly account: DeviceAccount,
    private readonly requestTimeoutMs: number,
  ) {}

  /** The device's clock now, as far as the box knows it. */
  deviceNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  async syncClock(signal: AbortSignal): Promise<void> {
    const sentAt = Date.now();
    const answer = await this.post(this.deviceServiceUrl, buildGetSystemDateAndTime(), 'GetSystemDateAndTime', this.requestTimeoutMs, signal);
    const receivedAt = Date.now();
    const time = parseGetSystemDateAndTimeResponse(answer);
    if (!time.ok) throw new OnvifCallError('badAnswer', `GetSystemDateAndTime: ${time.error}`);
    // The device writes whole seconds: the middle of its second is the best guess.
    this.clockOffsetMs = time.value.utc.getTime() + 500 - (sentAt + receivedAt) / 2;
  }

  /** Takes a device time known to the millisecond, stamped between `sentAt` and `receivedAt` (box clock). */
  observeDeviceTime(deviceMs: number, sentAt: number, receivedAt: number): void {
    this.clockOffsetMs = deviceMs - (sentAt + receivedAt) / 2;
  }

  /** A signed call; `build` gets the security header. Resolves with the answer's XML, throws OnvifCallError. */
  async call(url: string, what: string, build: (securityHeader: string) => string, signal: AbortSignal, timeoutMs = this.requestTimeoutMs): Promise<string> {
    const attempt = () => this.post(url, build(this.securityHeader()), what, timeoutMs, signal);
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof OnvifCallError) || err.failure !== 'notAuthorized') throw err;
      await this.syncClock(signal);
      return attempt();
    }
  }

  private securityHeader(): string {
    return usernameTokenHeader({ username: this.account.username, password: this.account.password, now: new Date(this.deviceNow()) });
  }

  private async post(url: string, xml: string, what: string, timeoutMs: number, signal: AbortSignal): Promise<string> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': SOAP_CONTENT_TYPE },
        body: xml,
        signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      });
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw err;
      const detail = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      throw new OnvifCallError(isUnreachable(err) || isUnreachable((err as { cause?: unknown }).cause) ? 'unreachable' : 'badAnswer', `${what} to ${url}: ${detail}`);
    }
    if (text.length > MAX_ANSWER_BYTES) throw new OnvifCallError('badAnswer', `${what}: the answer is larger than 1 MB`);
    const env = parseEnvelope(text);
    const fault = env.ok ? parseFault(env.value) : undefined;
    if (fault) {
      const failure = faultHas(fault, FaultSubcode.notAuthorized) ? 'notAuthorized' : 'fault';
      throw new OnvifCallError(failure, `${what}: ${describeFault(fault)}`, fault);
    }
    if (res.status === 401 || res.status === 403) throw new OnvifCallError('notAuthorized', `${what}: HTTP ${res.status}`);
    if (res.status < 200 || res.status >= 300 || !env.ok) throw new OnvifCallError('badAnswer', `${what}: HTTP ${res.status}${env.ok ? '' : `, ${env.error}`}`);
    return text;
  }
}
