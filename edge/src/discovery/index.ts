import { Agent } from 'node:http';
import type { DeviceReport } from '@vigil/protocol';
import { DEVICE_SERVICE_PATH, DEVICE_TYPE, NETWORK_VIDEO_TRANSMITTER, OnvifScope, hasType, scopeValue, type ProbeMatch } from '@vigil/protocol/onvif';
import { deviceIdFromSerial } from './device-id.js';
import { getDeviceInformation, type DeviceServiceAddress } from './onvif-client.js';
import { probeTargets, type ProbeTarget } from './probe.js';

export type { ProbeTarget } from './probe.js';
export { deviceIdFromSerial } from './device-id.js';

export interface DiscoveryOptions {
  targets: readonly ProbeTarget[];
  username: string;
  password: string;
  /** Deadline of the whole round: probing and identification together. */
  timeoutMs: number;
}
/** Former name of {@link DiscoveryOptions}. */
export type DiscoverOptions = DiscoveryOptions;

/** ONVIF requests in flight at once, so that a large site does not flood the LAN or the devices. */
export const MAX_CONCURRENT_REQUESTS = 4;

const MAX_FIELD = 128;
const clip = (s: string): string => s.trim().slice(0, MAX_FIELD);

/**
 * Probes every target (unicast WS-Discovery), then asks each responder GetDeviceInformation over ONVIF.
 * Identification starts as soon as a device answers the Probe, and the whole round ends within `timeoutMs`.
 * Devices that do not answer, answer with a fault (a wrong password gives ter:NotAuthorized) or with an
 * unusable reply are absent from the result. Never throws for a device's failure.
 */
export async function discoverDevices(opts: DiscoveryOptions): Promise<DeviceReport[]> {
  const deadline = Date.now() + Math.max(0, opts.timeoutMs);
  // One agent per round: destroying it at the deadline cuts the requests still hanging on dead devices.
  const agent = new Agent({ keepAlive: false });
  const found = new Map<string, DeviceReport>();
  const jobs: Promise<void>[] = [];
  const seen = new Set<string>();
  const limit = limiter(MAX_CONCURRENT_REQUESTS);

  const identify = async (match: ProbeMatch, address: DeviceServiceAddress): Promise<void> => {
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) return;
    const info = await getDeviceInformation(address, opts, { timeoutMs, agent });
    if (!info.ok || Date.now() > deadline) return;
    const serial = clip(info.value.serialNumber) || clip(match.endpointReference);
    const deviceId = deviceIdFromSerial(serial);
    if (!deviceId) return;
    found.set(deviceId, {
      deviceId,
      kind: 'camera',
      protocol: 'onvif',
      manufacturer: clip(info.value.manufacturer),
      model: clip(info.value.model),
      serial,
      firmware: clip(info.value.firmwareVersion),
      name: clip(scopeValue(match.scopes, OnvifScope.name) ?? info.value.model),
      host: address.host,
      port: address.port,
      online: true,
      lastSeenAt: Date.now(),
    });
  };

  let timer: NodeJS.Timeout | undefined;
  try {
    await probeTargets(opts.targets, deadline, (target, match) => {
      if (!hasType(match.types, NETWORK_VIDEO_TRANSMITTER) && !hasType(match.types, DEVICE_TYPE)) return;
      const address = deviceServiceAddress(match.xAddrs, target.host);
      if (!address) return;
      const key = `${address.host}:${address.port}${address.path}`;
      if (seen.has(key)) return;
      seen.add(key);
      jobs.push(limit(() => identify(match, address)));
    });
    const overdue = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))));
    await Promise.race([Promise.all(jobs), overdue]);
  } finally {
    clearTimeout(timer);
    agent.destroy();
  }
  return [...found.values()];
}

/** The first plain-HTTP XAddr, preferring one on the host that was probed. */
export function deviceServiceAddress(xAddrs: readonly string[], probedHost: string): DeviceServiceAddress | undefined {
  const candidates: DeviceServiceAddress[] = [];
  for (const x of xAddrs) {
    let url: URL;
    try {
      url = new URL(x);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' || url.hostname === '') continue;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    candidates.push({ host, port: url.port === '' ? 80 : Number(url.port), path: `${url.pathname}${url.search}` || DEVICE_SERVICE_PATH });
  }
  return candidates.find((c) => c.host === probedHost) ?? candidates[0];
}

/** Runs at most `n` of the given tasks at a time. The tasks must not reject. */
function limiter(n: number): (task: () => Promise<void>) => Promise<void> {
  let active = 0;
  const queue: (() => void)[] = [];
  const next = (): void => {
    active--;
    queue.shift()?.();
  };
  return (task) =>
    new Promise<void>((resolve) => {
      const run = (): void => {
        active++;
        task()
          .catch(() => undefined)
          .finally(() => {
            resolve();
            next();
          });
      };
      if (active < n) run();
      else queue.push(run);
    });
}
