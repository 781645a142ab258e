import { SiteParams } from '../http/params.js';
import type { FastifyInstance } from 'fastify';
import { RECOMMENDED_SUBNET_MASKS, RpcMethod, type LanOperateParams } from '@vigil/protocol';
import { ErrorCode, LanOperationBodySchema, LanOperationReplySchema, Permission, SiteOperation, type LanOperationBody } from '@vigil/protocol/api';
import { requireAuth, requirePermission } from '../auth/plugin.js';
import { AppError } from '../http/errors.js';
import { siteOfRequest } from '../sites/access.js';
import { readDeviceDefaults } from './defaults.js';
import { edgeSeeingAll, names, sightingsOf } from './sightings.js';
import { checkVlanRequest } from './vlan.js';


const ACTIONS: Record<LanOperationBody['operation'], string> = {
  reboot: 'Reboot Device',
  restore: 'Restore Device',
  editNetwork: 'Edit Device Network',
  vlan: 'Configure Switch VLAN',
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The address as a 32-bit number, or null when it is not a dotted IPv4 address. */
export function ipv4Number(ip: string): number | null {
  if (!IPV4.test(ip)) return null;
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

type NetworkSettings = NonNullable<LanOperationBody['networks']>[string];

const invalid = (serial: string, field: string, why: string) =>
  new AppError(400, ErrorCode.invalidNetworkSettings, `${serial}: ${field} ${why}.`);

/** Checks one device's fixed settings; returns them as the edge is to apply them. */
export function checkNetwork(serial: string, n: NetworkSettings): NetworkSettings {
  if (n.dhcp) return { dhcp: true };
  if (n.ipv4 === undefined || n.ipv4 === '') throw invalid(serial, 'ipv4', 'is required when DHCP is off');
  const ip = ipv4Number(n.ipv4);
  if (ip === null) throw invalid(serial, 'ipv4', `"${n.ipv4}" is not a valid IPv4 address`);
  if (n.mask === undefined || n.mask === '') throw invalid(serial, 'mask', 'is required when DHCP is off');
  if (!RECOMMENDED_SUBNET_MASKS.includes(n.mask)) throw invalid(serial, 'mask', `"${n.mask}" is not one of the recommended subnet masks`);
  const size = 2 ** 32 - ipv4Number(n.mask)!; // addresses in the subnet
  const net = (x: number) => x - (x % size);
  const hostPart = ip % size;
  if (hostPart === 0 || hostPart === size - 1) throw invalid(serial, 'ipv4', `${n.ipv4} is the network or broadcast address of its subnet`);
  if (ip >>> 24 === 0 || ip >>> 24 === 127 || ip >>> 24 >= 224) throw invalid(serial, 'ipv4', `${n.ipv4} cannot be a device address`);
  const out: NetworkSettings = { dhcp: false, ipv4: n.ipv4, mask: n.mask };
  if (n.gateway !== undefined && n.gateway !== '') {
    const gw = ipv4Number(n.gateway);
    if (gw === null) throw invalid(serial, 'gateway', `"${n.gateway}" is not a valid IPv4 address`);
    if (net(gw) !== net(ip)) throw invalid(serial, 'gateway', `${n.gateway} is not in the subnet of ${n.ipv4}/${n.mask}`);
    if (gw === ip) throw invalid(serial, 'gateway', 'cannot be the device address itself');
    out.gateway = n.gateway;
  }
  if (n.dns !== undefined && n.dns !== '') {
    if (ipv4Number(n.dns) === null) throw invalid(serial, 'dns', `"${n.dns}" is not a valid IPv4 address`);
    out.dns = n.dns;
  }
  return out;
}

/**
 * Other SADP operations on LAN devices (reboot, factory restore, IP settings, switch VLANs): the cloud checks
 * the request, then the edge box that sees the devices runs it at once and answers with one result per device.
 */
export async function operationRoutes(app: FastifyInstance) {
  const { ctx } = app;

  app.post(
    '/sites/:siteId/onsite/operations',
    {
      schema: { params: SiteParams, body: LanOperationBodySchema, response: { 200: LanOperationReplySchema } },
      preHandler: requirePermission(Permission.deviceManage),
      config: { oplog: 'Operate Device' },
      // The log line names the operation asked for, whether or not the request is accepted.
      preValidation: async (request) => {
        const op = (request.body as { operation?: unknown } | null)?.operation;
        if (typeof op === 'string' && Object.hasOwn(ACTIONS, op)) request.oplog.action = ACTIONS[op as LanOperationBody['operation']];
      },
    },
    async (request) => {
      const auth = requireAuth(request);
      const body = request.body as LanOperationBody;
      request.oplog.target = body.serials.join(', ').slice(0, 500);
      const site = await siteOfRequest(ctx.db, request, SiteOperation.manageDevice);

      const wanted = new Set(body.serials);
      const sightings = await sightingsOf(ctx.db, site, body.serials);
      const vlan = body.operation === 'vlan' ? checkVlanRequest(body, (s) => sightings.device(s).deviceClass) : undefined;
      if (!vlan && body.vlan !== undefined) throw new AppError(400, ErrorCode.validationFailed, 'vlan is only for the vlan operation.');
      const inactive = body.serials.filter((s) => !sightings.device(s).activated);
      if (inactive.length > 0) {
        throw new AppError(
          409,
          ErrorCode.deviceNotActivated,
          `${names(inactive)} ${inactive.length > 1 ? 'are' : 'is'} not activated: activate ${inactive.length > 1 ? 'them' : 'it'} first (the edge box logs in to the device).`,
        );
      }

      let password: string;
      if (body.useDefaults) {
        if (body.password !== undefined) throw new AppError(400, ErrorCode.validationFailed, 'Give either a password or useDefaults, not both.');
        const saved = await readDeviceDefaults(ctx.db, ctx.vault, auth.accountId, request.log);
        if (!saved) throw new AppError(400, ErrorCode.noDeviceDefaults, 'No default device password is saved; give the device password.');
        password = saved.password;
      } else {
        if (body.password === undefined) throw new AppError(400, ErrorCode.validationFailed, 'Give the device password, or useDefaults.');
        password = body.password;
      }

      const networks = new Map<string, NetworkSettings>();
      if (body.operation === 'editNetwork') {
        const given = body.networks ?? {};
        const extra = Object.keys(given).filter((s) => !wanted.has(s));
        if (extra.length > 0) throw new AppError(400, ErrorCode.invalidNetworkSettings, `${names(extra)}: network settings given for a device not in the request.`);
        const without = body.serials.filter((s) => given[s] === undefined);
        if (without.length > 0) throw new AppError(400, ErrorCode.invalidNetworkSettings, `${names(without)}: no network settings given.`);
        for (const s of body.serials) networks.set(s, checkNetwork(s, given[s]!));
        // No address twice: within the batch, nor one another device of the LAN already has.
        const taken = new Map<string, string>();
        for (const r of sightings.all) {
          if (wanted.has(r.serial)) continue;
          const ip = r.device.network.ipv4;
          if (ip) taken.set(ip, r.serial);
        }
        const inBatch = new Map<string, string>();
        for (const s of body.serials) {
          const n = networks.get(s)!;
          if (n.dhcp || !n.ipv4) continue;
          const other = inBatch.get(n.ipv4) ?? taken.get(n.ipv4);
          if (other !== undefined) throw invalid(s, 'ipv4', `${n.ipv4} is already the address of ${other}`);
          inBatch.set(n.ipv4, s);
        }
      } else if (body.networks !== undefined) {
        throw new AppError(400, ErrorCode.validationFailed, 'networks is only for the editNetwork operation.');
      }

      // One edge box runs the operation.
      const chosen = edgeSeeingAll(sightings, body.serials, ctx.tunnel, 'operate');
      request.oplog.detail = `${body.serials.length} device(s) through edge box ${chosen.serial}`;
      if (!chosen.connected) throw new AppError(409, ErrorCode.edgeOffline, `The edge box ${chosen.serial} that sees these devices is not connected right now.`);

      const params: LanOperateParams = {
        operation: body.operation,
        devices: body.serials.map((s) => {
          const d = sightings.byEdge.get(s)!.get(chosen.serial)!;
          const network = networks.get(s);
          return { serial: s, ip: d.network.ipv4, httpPort: d.httpPort, ...(network ? { network } : {}) };
        }),
        password,
        ...(vlan ? { vlan } : {}),
      };
      const result = await ctx.tunnel.call(chosen.serial, RpcMethod.lanOperate, params, ctx.config.rpcTimeoutMs);
      const failed = result.results.filter((r) => !r.ok).length;
      request.oplog.detail += failed > 0 ? `; ${failed} of ${result.results.length} failed` : '';
      ctx.hub.publish(site.companyId, { type: 'lan.changed', siteId: site.id });
      return { results: result.results };
    },
  );
}
