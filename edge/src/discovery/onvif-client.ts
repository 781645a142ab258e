import type { Agent } from 'node:http';
import onvif from 'onvif';
import { fail, type Result } from '@vigil/protocol';
import { parseGetDeviceInformationResponse, type DeviceInformation } from '@vigil/protocol/onvif';

export interface DeviceServiceAddress {
  host: string;
  port: number;
  path: string;
}

type Callback<T> = (err: Error | null, data?: T, xml?: string) => void;

/** Runs one callback-style call of the client, settling with the raw reply as well. */
const call = <T>(fn: (cb: Callback<T>) => void): Promise<{ err: Error | null; data: T | undefined; xml: string | undefined }> =>
  new Promise((resolve) => {
    try {
      fn((err, data, xml) => resolve({ err, data, xml }));
    } catch (e) {
      resolve({ err: e instanceof Error ? e : new Error(String(e)), data: undefined, xml: undefined });
    }
  });

/**
 * Asks a device for its identity through the `onvif` client: GetSystemDateAndTime first (the client takes the
 * device clock for the WS-Security Created time), then GetDeviceInformation. The reply is read with this
 * platform's codec, because the client turns values such as "5.70" into numbers. Never rejects.
 */
export async function getDeviceInformation(
  address: DeviceServiceAddress,
  credentials: { username: string; password: string },
  opts: { timeoutMs: number; agent: Agent },
): Promise<Result<DeviceInformation>> {
  const cam = new onvif.Cam({
    hostname: address.host,
    port: address.port,
    path: address.path,
    username: credentials.username,
    password: credentials.password,
    timeout: Math.max(1, opts.timeoutMs),
    agent: opts.agent,
    autoconnect: false,
  });
  const time = await call<Date>((cb) => cam.getSystemDateAndTime(cb));
  if (time.err) {
    if (time.xml === undefined || time.xml === '') return fail(`GetSystemDateAndTime: ${time.err.message}`);
    // The device answered but not with its time: sign with the local clock instead.
    cam.timeShift = Date.now() - process.uptime() * 1000;
  }
  const info = await call((cb) => cam.getDeviceInformation(cb));
  // A fault (wrong password: ter:NotAuthorized) comes back as XML too; the codec turns it into the error.
  if (info.xml) return parseGetDeviceInformationResponse(info.xml);
  return fail(`GetDeviceInformation: ${info.err?.message ?? 'no reply'}`);
}
