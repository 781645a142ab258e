import {
  buildIpAddress,
  buildVlanUpdate,
  describeVlanUpdate,
  FACTORY_RESET_FULL,
  IsapiPath,
  IsapiSubStatus,
  LanOperation,
  parseIpAddress,
  VLAN_PATH,
  type LanOperateParams,
  type LanOperateResult,
} from '@vigil/protocol';
import { DeviceClient, DeviceRefused, DeviceUnreachable } from './device-client.js';
import { ADMIN_USER } from './job.js';

const MAX_MESSAGE = 512;
/** Kept free before the deadline so the reply still reaches the cloud in time. */
const REPLY_MARGIN_MS = 1_000;
/** A device is not started with less time than this left. */
const MIN_ATTEMPT_MS = 500;

export interface OperateOptions {
  /** Per request (default 10 s); shortened to fit the deadline. */
  requestTimeoutMs?: number;
  /** Devices worked on at once (default 4). */
  concurrency?: number;
  /** Epoch ms by which every result must be known (the RPC deadline). */
  deadline?: number;
  /** Why a device may not be touched now (e.g. busy in an initialization job), or undefined. */
  busy?: (serial: string) => string | undefined;
  now?: () => number;
}

type Device = LanOperateParams['devices'][number];
type Outcome = LanOperateResult['results'][number];

/**
 * Runs one SADP operation (reboot, factory restore, network edit, switch VLANs) on every device, a few at a time, and
 * answers with one result per device in the order given. One device's failure never stops the others.
 */
export async function runLanOperation(params: LanOperateParams, options: OperateOptions = {}): Promise<LanOperateResult> {
  const now = options.now ?? Date.now;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const results: Outcome[] = new Array<Outcome>(params.devices.length);
  const done = (i: number, ok: boolean, message: string) => {
    results[i] = { serial: params.devices[i]!.serial, ok, message: message.slice(0, MAX_MESSAGE) };
  };

  const runOne = async (i: number): Promise<void> => {
    const device = params.devices[i]!;
    const reason = options.busy?.(device.serial);
    if (reason !== undefined) return done(i, false, reason);
    const left = options.deadline === undefined ? Infinity : options.deadline - REPLY_MARGIN_MS - now();
    if (left < MIN_ATTEMPT_MS) return done(i, false, 'not attempted: no time left before the deadline');
    const client = new DeviceClient({
      ip: device.ip,
      port: device.httpPort,
      username: ADMIN_USER,
      password: params.password,
      timeoutMs: Math.min(requestTimeoutMs, left),
    });
    try {
      done(i, true, await operate(client, params, device));
    } catch (e) {
      done(i, false, describe(e, client));
    }
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < params.devices.length) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, params.devices.length) }, worker));
  return { results };
}

async function operate(client: DeviceClient, params: LanOperateParams, device: Device): Promise<string> {
  switch (params.operation) {
    case LanOperation.reboot:
      await client.send('PUT', IsapiPath.reboot, '');
      return 'rebooting';
    case LanOperation.restore:
      await client.send('PUT', FACTORY_RESET_FULL, '');
      return 'restored to factory settings: the device is unactivated now';
    case LanOperation.editNetwork: {
      const n = device.network;
      if (!n) throw new Error('no network settings given for this device');
      if (n.dhcp) {
        const cur = await client.get(IsapiPath.ipAddress, parseIpAddress);
        await client.send('PUT', IsapiPath.ipAddress, buildIpAddress({ ...cur, dhcp: true }));
        return 'DHCP turned on: the device takes its address from the network';
      }
      if (!n.ipv4 || !n.mask) throw new Error('a fixed address needs an IPv4 address and a subnet mask');
      await client.send('PUT', IsapiPath.ipAddress, buildIpAddress({ dhcp: false, ipv4: n.ipv4, mask: n.mask, gateway: n.gateway ?? '', dns: n.dns ?? '' }));
      const gw = n.gateway ? `, gateway ${n.gateway}` : '';
      const dns = n.dns ? `, DNS ${n.dns}` : '';
      return `DHCP off, fixed address ${n.ipv4} mask ${n.mask}${gw}${dns}`;
    }
    case LanOperation.vlan:
      if (!params.vlan) throw new Error('no VLAN settings given');
      // The switch applies the whole batch or, refusing it, nothing.
      await client.send('PUT', VLAN_PATH, buildVlanUpdate(params.vlan));
      return describeVlanUpdate(params.vlan);
  }
}

function describe(e: unknown, client: DeviceClient): string {
  if (e instanceof DeviceUnreachable) return `device not answering at ${client.address}: ${e.message}`;
  if (e instanceof DeviceRefused) {
    if (e.httpStatus === 401 || e.subStatus === IsapiSubStatus.unauthorized) return 'the device refused the login: wrong password (or the account is locked)';
    if (e.subStatus === IsapiSubStatus.notActivated) return 'the device is not activated';
    if (e.unsupported) return `the device does not support this operation (${e.message})`;
    return `the device refused: ${e.message}`;
  }
  return e instanceof Error ? e.message : String(e);
}
