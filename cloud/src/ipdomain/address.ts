import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { ErrorCode } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';

/** Networks that are not on the internet: a device there is not "mapped on the WAN", and calling it would let
 * anyone who can add a device probe the cloud's own networks. */
const NOT_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  NOT_PUBLIC.addSubnet(net, bits, 'ipv6');
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

function isPublic(ip: string): boolean {
  const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
  const mapped = family === 'ipv6' && /^::ffff:/i.test(ip) ? ip.slice(7) : null;
  if (mapped && isIP(mapped) === 4) return !NOT_PUBLIC.check(mapped, 'ipv4');
  return !NOT_PUBLIC.check(ip, family);
}

/**
 * The IP address to call for a device's IP address or domain name. Every address a name resolves to must be
 * public (unless private ones are allowed), and the one returned is the one the cloud then calls, so a name cannot
 * resolve to a public address for the check and a private one for the call.
 */
export async function resolveDeviceAddress(address: string, allowPrivate: boolean): Promise<string> {
  const host = address.trim().replace(/^\[(.*)\]$/, '$1');
  if (!isIP(host) && !HOSTNAME.test(host)) {
    throw new AppError(422, ErrorCode.validationFailed, `"${address}" is neither an IP address nor a domain name.`);
  }
  let ips: string[];
  try {
    ips = isIP(host) ? [host] : (await lookup(host, { all: true, verbatim: false })).map((a) => a.address);
  } catch {
    throw new AppError(422, ErrorCode.deviceUnreachable, `The domain name "${host}" does not resolve.`);
  }
  if (!allowPrivate) {
    const hidden = ips.filter((ip) => !isPublic(ip));
    if (hidden.length > 0) {
      throw new AppError(
        422,
        ErrorCode.addressNotAllowed,
        `${host}${isIP(host) ? '' : ` (${hidden.join(', ')})`} is not a public address: a device added by IP/domain must be mapped on the WAN. Add devices on the customer's LAN through the edge box or by serial number.`,
      );
    }
  }
  return ips.find((ip) => isIP(ip) === 4) ?? ips[0]!;
}

/** `host:port` for a URL, with IPv6 in brackets. */
export const hostPort = (ip: string, port: number): string => (isIP(ip) === 6 ? `[${ip}]:${port}` : `${ip}:${port}`);
