/**
 * VLANs of a managed switch (manual §3.2.3, VLAN Management): its VLAN table, each port's VLAN type, and the
 * update the installer saves (VLANs to add, port assignments). The switch applies an update whole or not at
 * all, and refuses one with a ResponseStatus whose subStatusCode is one of VlanSubStatus.
 */
import { fail, ok, type Result } from '../result.js';
import { children, childNode, isNode, type XmlNode } from '../onvif/xml.js';
import { IsapiStatusCode, isapiDoc as doc, IsapiReader as Reader, isapiRoot as root, isapiTag as tag } from './messages.js';

/** GET: the VLAN table and ports (VlanConfig); PUT: a VlanUpdate; DELETE `/{id}`: removes one VLAN. */
export const VLAN_PATH = '/ISAPI/Network/VLAN';
export const vlanPath = (id: number): string => `${VLAN_PATH}/${id}`;

/** The default VLAN: it always exists, and ports are on it until told otherwise. */
export const DEFAULT_VLAN = 1;
/** Reserved for VLAN trunking protocols, never regular traffic. */
export const RESERVED_VLAN = 4095;
export const MAX_VLAN_ID = 4094;

export const PortVlanMode = { access: 'ACCESS', trunk: 'TRUNK' } as const;
export type PortVlanMode = (typeof PortVlanMode)[keyof typeof PortVlanMode];
const MODES = Object.values(PortVlanMode);

/** One port's VLAN settings: ACCESS carries the PVID's VLAN only; TRUNK carries its allowed VLANs (tagged). */
export interface PortVlan {
  port: number;
  mode: PortVlanMode;
  /** The VLAN untagged ingress traffic belongs to. */
  pvid: number;
  /** TRUNK only: the VLANs the port carries, its PVID among them. */
  allowedVlans?: number[];
}

export interface SwitchPortVlan extends Required<PortVlan> {
  /** The link aggregation group holding the port (its VLANs cannot be configured), or null. */
  aggregationGroup: number | null;
}

export interface VlanConfig {
  /** The most VLANs one update may add (model-dependent). */
  maxVlansPerBatch: number;
  /** Ascending; VLAN 1 always among them. */
  vlans: number[];
  ports: SwitchPortVlan[];
}

export interface VlanUpdate {
  /** New VLAN ids, 2–4094. */
  addVlans: number[];
  ports: PortVlan[];
}

export const VlanSubStatus = {
  invalidVlanId: 'invalidVlanId',
  reservedVlanId: 'reservedVlanId',
  defaultVlan: 'defaultVlan',
  vlanBatchLimit: 'vlanBatchLimit',
  vlanNotFound: 'vlanNotFound',
  vlanInUse: 'vlanInUse',
  invalidPort: 'invalidPort',
  portInAggregationGroup: 'portInAggregationGroup',
  invalidPortVlan: 'invalidPortVlan',
  emptyUpdate: 'emptyUpdate',
} as const;
export type VlanSubStatus = (typeof VlanSubStatus)[keyof typeof VlanSubStatus];

/** Why a switch refuses a VLAN request (the parts of its ResponseStatus). */
export interface VlanRefusal {
  statusCode: IsapiStatusCode;
  subStatus: VlanSubStatus;
  message: string;
}

const refusal = (statusCode: IsapiStatusCode, subStatus: VlanSubStatus, message: string): VlanRefusal => ({ statusCode, subStatus, message });
const badId = (subStatus: VlanSubStatus, message: string) => refusal(IsapiStatusCode.invalidXmlContent, subStatus, message);

/** Why `id` cannot be a new VLAN (usable ids are 2–4094), or undefined. */
export function newVlanIdProblem(id: number): VlanRefusal | undefined {
  if (id === DEFAULT_VLAN) return badId(VlanSubStatus.defaultVlan, 'VLAN 1 is the default VLAN and always exists');
  if (id === RESERVED_VLAN) return badId(VlanSubStatus.reservedVlanId, 'VLAN 4095 is reserved for VLAN trunking protocols; new VLAN ids run from 2 to 4094');
  if (!Number.isInteger(id) || id < 2 || id > MAX_VLAN_ID) return badId(VlanSubStatus.invalidVlanId, `VLAN ${id} is out of range: new VLAN ids run from 2 to 4094`);
  return undefined;
}

/** Why a port cannot use VLAN `id` (1–4094), or undefined. */
function portVlanIdProblem(port: number, id: number): VlanRefusal | undefined {
  if (id === RESERVED_VLAN) return badId(VlanSubStatus.reservedVlanId, `port ${port}: VLAN 4095 is reserved for VLAN trunking protocols`);
  if (!Number.isInteger(id) || id < DEFAULT_VLAN || id > MAX_VLAN_ID) return badId(VlanSubStatus.invalidVlanId, `port ${port}: VLAN ${id} is out of range (1 to 4094)`);
  return undefined;
}

/**
 * What is wrong with an update whatever the switch (ids, ports given twice, ACCESS/TRUNK rules), or
 * undefined. The switch then checks the rest: its batch limit, its ports, aggregation groups, VLANs it has.
 */
export function vlanUpdateProblem(u: VlanUpdate): VlanRefusal | undefined {
  if (u.addVlans.length === 0 && u.ports.length === 0) return badId(VlanSubStatus.emptyUpdate, 'nothing to change: give VLANs to add or port settings');
  const seen = new Set<number>();
  for (const id of u.addVlans) {
    const p = newVlanIdProblem(id);
    if (p) return p;
    if (seen.has(id)) return badId(VlanSubStatus.invalidVlanId, `VLAN ${id} is given twice`);
    seen.add(id);
  }
  const ports = new Set<number>();
  for (const p of u.ports) {
    if (!Number.isInteger(p.port) || p.port < 1) return badId(VlanSubStatus.invalidPort, `${p.port} is not a port number`);
    if (ports.has(p.port)) return badId(VlanSubStatus.invalidPort, `port ${p.port} is given twice`);
    ports.add(p.port);
    const allowed = p.allowedVlans ?? [];
    for (const id of [p.pvid, ...allowed]) {
      const problem = portVlanIdProblem(p.port, id);
      if (problem) return problem;
    }
    if (p.mode === PortVlanMode.access && allowed.length > 0) {
      return badId(VlanSubStatus.invalidPortVlan, `port ${p.port}: an ACCESS port carries its PVID's VLAN only; allowed VLANs are for TRUNK ports`);
    }
    if (p.mode === PortVlanMode.trunk && !allowed.includes(p.pvid)) {
      return badId(VlanSubStatus.invalidPortVlan, `port ${p.port}: a TRUNK port's PVID (${p.pvid}) must be one of its allowed VLANs`);
    }
  }
  return undefined;
}

/** In words for the installer, e.g. "VLAN 20 added; port 3: ACCESS on VLAN 20". */
export function describeVlanUpdate(u: VlanUpdate): string {
  const parts: string[] = [];
  if (u.addVlans.length > 0) parts.push(`VLAN${u.addVlans.length > 1 ? 's' : ''} ${u.addVlans.join(', ')} added`);
  for (const p of u.ports) {
    parts.push(p.mode === PortVlanMode.access ? `port ${p.port}: ACCESS on VLAN ${p.pvid}` : `port ${p.port}: TRUNK, PVID ${p.pvid}, VLANs ${(p.allowedVlans ?? []).join(', ')}`);
  }
  return parts.join('; ');
}

// ------------------------------------------------------------------------------------------------- XML

const idList = (ids: readonly number[]): string => ids.join(',');

/** Ids as the switch writes them ("1,20,30"); ids outside 0–65535 are not read as VLANs at all. */
function parseIdList(text: string | undefined, where: string): Result<number[]> {
  const out: number[] = [];
  for (const part of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    if (!/^\d{1,5}$/.test(part) || Number(part) > 65535) return fail(`${where}: not a VLAN id: ${part}`);
    out.push(Number(part));
  }
  return ok(out);
}

function portXml(p: PortVlan & { aggregationGroup?: number | null }): string {
  return `<PortVLAN>${[
    tag('portNo', p.port),
    tag('mode', p.mode),
    tag('pvid', p.pvid),
    p.allowedVlans === undefined ? '' : tag('allowedVLANs', idList(p.allowedVlans)),
    p.aggregationGroup == null ? '' : tag('aggregationGroup', p.aggregationGroup),
  ].join('')}</PortVLAN>`;
}

function parsePorts(x: Reader, list: XmlNode, where: string): Result<SwitchPortVlan[]> {
  const ports: SwitchPortVlan[] = [];
  for (const n of children(list, 'PortVLAN')) {
    const node = isNode(n) ? n : {};
    const allowed = parseIdList(x.optText('allowedVLANs', node), `${where}.allowedVLANs`);
    if (!allowed.ok) return allowed;
    ports.push({
      port: x.int('portNo', node, 0, 65535),
      mode: x.oneOf('mode', MODES, node),
      pvid: x.int('pvid', node, 0, 65535),
      allowedVlans: allowed.value,
      aggregationGroup: x.optInt('aggregationGroup', node, 1, 65535) ?? null,
    });
  }
  return ok(ports);
}

export function buildVlanConfig(c: VlanConfig): string {
  return doc('VLANConfig', [
    tag('maxVLANsPerBatch', c.maxVlansPerBatch),
    tag('VLANList', idList(c.vlans)),
    `<PortVLANList>${c.ports.map(portXml).join('')}</PortVLANList>`,
  ]);
}

export function parseVlanConfig(input: string | Uint8Array): Result<VlanConfig> {
  const r = root(input, 'VLANConfig');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'VLANConfig');
  const vlans = parseIdList(x.optText('VLANList'), 'VLANConfig.VLANList');
  if (!vlans.ok) return vlans;
  const ports = parsePorts(x, childNode(r.value, 'PortVLANList') ?? {}, 'VLANConfig.PortVLAN');
  if (!ports.ok) return ports;
  return x.done({ maxVlansPerBatch: x.int('maxVLANsPerBatch', undefined, 1, 4094), vlans: vlans.value, ports: ports.value });
}

export function buildVlanUpdate(u: VlanUpdate): string {
  return doc('VLANUpdate', [tag('addVLANList', idList(u.addVlans)), `<PortVLANList>${u.ports.map(portXml).join('')}</PortVLANList>`]);
}

/** Reads any VLAN id 0–65535, so that the switch itself refuses a reserved or out-of-range one by name. */
export function parseVlanUpdate(input: string | Uint8Array): Result<VlanUpdate> {
  const r = root(input, 'VLANUpdate');
  if (!r.ok) return r;
  const x = new Reader(r.value, 'VLANUpdate');
  const add = parseIdList(x.optText('addVLANList'), 'VLANUpdate.addVLANList');
  if (!add.ok) return add;
  const ports = parsePorts(x, childNode(r.value, 'PortVLANList') ?? {}, 'VLANUpdate.PortVLAN');
  if (!ports.ok) return ports;
  return x.done({
    addVlans: add.value,
    ports: ports.value.map((p) => ({ port: p.port, mode: p.mode, pvid: p.pvid, ...(p.mode === PortVlanMode.trunk || p.allowedVlans.length > 0 ? { allowedVlans: p.allowedVlans } : {}) })),
  });
}
