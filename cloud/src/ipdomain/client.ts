import { DigestClient, IsapiPath, ISAPI_MAX_BODY_BYTES, parseDeviceInfo, type DeviceInfo } from '@vigil/protocol';
import { ErrorCode } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';
import { hostPort, resolveDeviceAddress } from './address.js';

export interface DeviceLogin {
  address: string;
  port: number;
  username: string;
  password: string;
}

const TIMEOUT_MS = 5000;

/**
 * Logs in to a device at its WAN address (ISAPI with Digest authentication) and reads what it is. Refusals are
 * the API's: the address not allowed, the device not answering, the login refused.
 */
export async function readDeviceInfo(login: DeviceLogin, allowPrivate: boolean, timeoutMs = TIMEOUT_MS): Promise<DeviceInfo> {
  const ip = await resolveDeviceAddress(login.address, allowPrivate);
  const where = `${login.address}:${login.port}`;
  const digest = new DigestClient(login.username, login.password);
  let res: Response;
  let body: string;
  try {
    res = await digest.fetch(`http://${hostPort(ip, login.port)}${IsapiPath.deviceInfo}`, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    body = await res.text();
  } catch (e) {
    const why = e instanceof Error && e.name === 'TimeoutError' ? 'no answer in time' : 'connection failed';
    throw new AppError(422, ErrorCode.deviceUnreachable, `The device at ${where} cannot be reached (${why}): check the address, the port and its mapping on the WAN.`);
  }
  if (res.status === 401 || res.status === 403) {
    throw new AppError(422, ErrorCode.deviceLoginFailed, `The device at ${where} refused the user name or password.`);
  }
  const info = res.ok && body.length <= ISAPI_MAX_BODY_BYTES ? parseDeviceInfo(body) : null;
  if (!info?.ok) {
    throw new AppError(422, ErrorCode.deviceUnreachable, `What answers at ${where} is not a device the platform can add (HTTP ${res.status}).`);
  }
  return info.value;
}
