import type { InitStep, LanDeviceClass, StepState } from '@vigil/protocol';
import type { ActivationJob, AddLanDevicesResult, LanDevice, LanOperationBody } from '@vigil/protocol/api';
import { AddMethod, addMethodAllowed } from '@vigil/protocol/api';

/*
 * The device password and verification code policies, worded as the API words them (devicePasswordProblem and
 * verificationCodeProblem in @vigil/protocol). Kept here because the protocol package's entry point also carries
 * Node-only code that has no place in the browser bundle.
 */

/** The manual's device password policy, for hints. */
export const DEVICE_PASSWORD_HINT =
  '8 to 16 characters, with at least two of: upper case letters, lower case letters, digits, special characters.';
export const VERIFICATION_CODE_HINT =
  '6 to 12 letters or digits. Needed to turn on the Hik-Connect service; the AC router needs none.';

/** What is wrong with a device password, as a sentence, or null when the policy accepts it. */
export function devicePasswordError(password: string): string | null {
  if (!password) return 'Enter a device password.';
  if (password.length < 8 || password.length > 16) return 'The password must have 8 to 16 characters.';
  if (/[^\x20-\x7e]/.test(password)) return 'The password may only hold printable ASCII characters.';
  const kinds = [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  if (kinds < 2) return 'The password must mix at least two of upper case, lower case, digits and special characters.';
  return null;
}

/** What is wrong with a verification code, as a sentence, or null. An empty code is allowed (no Hik-Connect). */
export function verificationCodeError(code: string): string | null {
  if (!code) return null;
  if (!/^[A-Za-z0-9]{6,12}$/.test(code)) return 'The verification code must have 6 to 12 letters or digits.';
  return null;
}

/** The steps of the manual's Table 3-2 in the order they run, with what the page calls them. */
export const INIT_STEP_LABELS: Record<InitStep, string> = {
  activate: 'Activate',
  network: 'Configure network',
  firmware: 'Check firmware update',
  time: 'Sync device time',
  storage: 'Initialize HDD / SD card',
  camera: 'Camera settings',
  hikConnect: 'Hik-Connect service',
  nvrChannel: 'Add to NVR',
  channels: 'Add and sort channels',
};
export const INIT_STEP_ORDER = Object.keys(INIT_STEP_LABELS) as InitStep[];

/** A step's state in words, with a symbol that only repeats them. `waiting`: not reported yet; `not_run`: the job ended first. */
export type StepDisplay = StepState | 'waiting' | 'not_run';
export const STEP_STATE_TEXT: Record<StepDisplay, { word: string; icon: string }> = {
  running: { word: 'In progress', icon: '…' },
  done: { word: 'Done', icon: '✓' },
  skipped: { word: 'Skipped', icon: '–' },
  failed: { word: 'Failed', icon: '✕' },
  waiting: { word: 'Waiting', icon: '○' },
  not_run: { word: 'Not run', icon: '○' },
};

export type JobItem = ActivationJob['items'][number];

export const RESULT_TEXT: Record<JobItem['result'], string> = {
  running: 'In progress',
  succeeded: 'Initialized',
  failed: 'Failed',
};

export function jobCounts(job: ActivationJob): { total: number; succeeded: number; failed: number } {
  let succeeded = 0;
  let failed = 0;
  for (const item of job.items) {
    if (item.result === 'succeeded') succeeded++;
    else if (item.result === 'failed') failed++;
  }
  return { total: job.items.length, succeeded, failed };
}

/** "2 of 3 devices initialized". */
export function jobSummary(job: ActivationJob): string {
  const { total, succeeded } = jobCounts(job);
  return `${succeeded} of ${total} ${total === 1 ? 'device' : 'devices'} initialized`;
}

/** The most sites the site list answers in one page, which is all the "Another site" choice asks for. */
export const SITE_CHOICE_LIMIT = 500;

/** A device offered in "Add devices to a site", from the LAN list or from a finished activation job. */
export interface AddCandidate {
  serial: string;
  model: string;
  deviceClass: LanDeviceClass;
  ip: string;
  /** Video channels the device brings to the site; null when not reported. */
  channels: number | null;
  /** Ticked when the dialog opens. */
  checked: boolean;
}

/** What "Add devices to a site" reports once the server accepted. */
export interface AddedResult {
  siteId: string;
  siteName: string;
  /** Whether the devices went to the site whose On-site page this is. */
  thisSite: boolean;
  serials: string[];
  reply: AddLanDevicesResult;
}

/** The channel count of a LAN device; null when the server does not report one. */
export function lanChannels(device: LanDevice): number | null {
  return typeof device.channels === 'number' ? device.channels : null;
}

export function lanCandidate(device: LanDevice, checked = true): AddCandidate {
  return {
    serial: device.serial,
    model: device.model,
    deviceClass: device.deviceClass,
    ip: device.network.ipv4,
    channels: lanChannels(device),
    checked,
  };
}

/** Whether a LAN device can be added to a site from the On-site page: activated, not on this site yet, of a type added by LAN. */
export function addableToSite(device: Pick<LanDevice, 'activated' | 'deviceClass' | 'siteDeviceId'>): boolean {
  return device.activated && !device.siteDeviceId && addMethodAllowed(AddMethod.lan, device.deviceClass);
}

/** "1 device" / "3 devices". */
export function deviceCount(n: number): string {
  return n === 1 ? '1 device' : `${n} devices`;
}

/*
 * Other SADP operations on activated devices (the manual's §3.1.2): reboot, restore factory settings, edit IP;
 * and VLANs on switches (§3.2.3).
 */

export type LanOperationKind = 'reboot' | 'restore' | 'editNetwork' | 'vlan';

/** What the page calls each operation: the dialog title, its button, and the result wording. */
export const LAN_OPERATION_TEXT: Record<LanOperationKind, { title: string; action: string; busy: string; done: string; results: string }> = {
  reboot: { title: 'Reboot devices', action: 'Reboot', busy: 'Rebooting…', done: 'rebooted', results: 'Reboot results' },
  restore: { title: 'Restore factory settings', action: 'Restore', busy: 'Restoring…', done: 'restored', results: 'Restore results' },
  editNetwork: { title: 'Edit IP addresses', action: 'Save IP settings', busy: 'Saving…', done: 'updated', results: 'IP edit results' },
  vlan: { title: 'Configure VLANs', action: 'Save VLAN settings', busy: 'Saving…', done: 'configured', results: 'VLAN results' },
};

/**
 * The subnet masks offered when editing a device's IP settings. The same list as RECOMMENDED_SUBNET_MASKS in
 * @vigil/protocol (protocol/src/onsite.ts), whose entry point has no place in the browser bundle.
 */
export const RECOMMENDED_SUBNET_MASKS: readonly string[] = [
  '255.255.255.0',
  '255.255.255.128',
  '255.255.255.192',
  '255.255.255.224',
  '255.255.255.240',
  '255.255.254.0',
  '255.255.252.0',
  '255.255.248.0',
  '255.255.240.0',
  '255.255.0.0',
  '255.0.0.0',
];

/** A dotted IPv4 address as a 32-bit number, or null when it is not one (no leading zeros, each part 0–255). */
export function parseIpv4(text: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let n = 0;
  for (const part of m.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return null;
    const v = Number(part);
    if (v > 255) return null;
    n = n * 256 + v;
  }
  return n;
}

/** Whether an address can be given to a device or used as its gateway or DNS server: not 0.x, loopback, multicast or reserved. */
function usableHost(n: number): boolean {
  const first = Math.floor(n / 0x1000000);
  return first !== 0 && first !== 127 && first < 224;
}

/** The fields of "Edit IP" for one device, as typed. */
export interface NetworkForm {
  dhcp: boolean;
  ipv4: string;
  mask: string;
  gateway: string;
  dns: string;
}

export type NetworkField = 'ipv4' | 'mask' | 'gateway' | 'dns';

/** What is wrong with one device's IP settings, per field; empty when DHCP is on or all is well. */
export function networkErrors(form: NetworkForm): Partial<Record<NetworkField, string>> {
  const e: Partial<Record<NetworkField, string>> = {};
  if (form.dhcp) return e;
  const ip = parseIpv4(form.ipv4.trim());
  if (!form.ipv4.trim()) e.ipv4 = 'Enter an IP address.';
  else if (ip === null) e.ipv4 = 'Enter an IPv4 address such as 192.168.1.64.';
  else if (!usableHost(ip)) e.ipv4 = 'This address cannot be given to a device.';
  const mask = form.mask ? parseIpv4(form.mask) : null;
  if (!form.mask) e.mask = 'Select a subnet mask.';
  else if (mask === null || !RECOMMENDED_SUBNET_MASKS.includes(form.mask)) e.mask = 'Select a subnet mask from the list.';
  if (ip !== null && mask !== null && !e.ipv4) {
    const host = (ip & ~mask) >>> 0;
    const hostMax = ~mask >>> 0;
    if (host === 0) e.ipv4 = 'This is the network address of the subnet; choose another address.';
    else if (host === hostMax) e.ipv4 = 'This is the broadcast address of the subnet; choose another address.';
  }
  const gatewayText = form.gateway.trim();
  if (gatewayText) {
    const gw = parseIpv4(gatewayText);
    if (gw === null) e.gateway = 'Enter an IPv4 address such as 192.168.1.1.';
    else if (!usableHost(gw)) e.gateway = 'This address cannot be a gateway.';
    else if (ip !== null && gw === ip) e.gateway = 'The gateway must differ from the IP address.';
    else if (ip !== null && mask !== null && !e.ipv4 && ((gw & mask) >>> 0) !== ((ip & mask) >>> 0)) {
      e.gateway = 'The gateway must be in the same subnet as the IP address.';
    }
  }
  const dnsText = form.dns.trim();
  if (dnsText) {
    const dns = parseIpv4(dnsText);
    if (dns === null) e.dns = 'Enter an IPv4 address such as 8.8.8.8.';
    else if (!usableHost(dns)) e.dns = 'This address cannot be a DNS server.';
  }
  return e;
}

/**
 * Where an INVALID_NETWORK_SETTINGS refusal points: the device (one of `serials`, the longest named) and the
 * field its message names, each null when the message does not tell.
 */
export function networkRefusalTarget(message: string, serials: string[]): { serial: string | null; field: NetworkField | null } {
  const serial = [...serials].sort((a, b) => b.length - a.length).find((s) => message.includes(s)) ?? null;
  // The server words it "<serial>: <field> <why>.", the field as the request names it.
  const named = serial ? new RegExp(`^\\s*:\\s*(ipv4|mask|gateway|dns)\\b`).exec(message.slice(message.indexOf(serial) + serial.length)) : null;
  if (named) return { serial, field: named[1] as NetworkField };
  const text = serial ? message.split(serial).join(' ') : message;
  let field: NetworkField | null = null;
  if (/gateway/i.test(text)) field = 'gateway';
  else if (/subnet|mask/i.test(text)) field = 'mask';
  else if (/\bdns\b/i.test(text)) field = 'dns';
  else if (/\bip\s*(v4)?\b|ipv4|address/i.test(text)) field = 'ipv4';
  return { serial, field };
}

/** The fields of the VLAN dialog, as typed: VLAN ids to add and, optionally, one port to assign. */
export interface VlanForm {
  addVlans: string;
  port: string;
  mode: 'ACCESS' | 'TRUNK';
  pvid: string;
  allowedVlans: string;
}

export type VlanField = keyof VlanForm;
export type VlanBatch = NonNullable<LanOperationBody['vlan']>;

export const emptyVlanForm = (): VlanForm => ({ addVlans: '', port: '', mode: 'ACCESS', pvid: '', allowedVlans: '' });

/** "20, 30" → [20, 30]; null when a part is not a whole number. */
function idList(text: string): number[] | null {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  return parts.every((p) => /^\d{1,5}$/.test(p)) ? parts.map(Number) : null;
}

/**
 * The batch the form describes, or the fields to fix. Only the form is checked here; which ids a switch takes
 * (1 is the default VLAN, 4095 is reserved, 2–4094 for new ones) is the server's answer.
 */
export function vlanBatchOf(form: VlanForm): { batch: VlanBatch | null; errors: Partial<Record<VlanField, string>> } {
  const errors: Partial<Record<VlanField, string>> = {};
  const addVlans = idList(form.addVlans);
  if (addVlans === null) errors.addVlans = 'Enter VLAN IDs as numbers separated by commas, such as 20, 30.';
  const ports: VlanBatch['ports'] = [];
  if (form.port.trim()) {
    const port = Number(form.port.trim());
    if (!/^\d{1,4}$/.test(form.port.trim()) || port < 1) errors.port = 'Enter a port number, such as 3.';
    const pvid = form.pvid.trim();
    if (!/^\d{1,5}$/.test(pvid)) errors.pvid = 'Enter the PVID: the VLAN of untagged traffic on this port.';
    const allowed = form.mode === 'TRUNK' ? idList(form.allowedVlans) : [];
    if (allowed === null || (form.mode === 'TRUNK' && allowed.length === 0)) errors.allowedVlans = 'Enter the VLANs this trunk port carries, such as 1, 20, 30.';
    if (!errors.port && !errors.pvid && allowed) {
      ports.push({ port, mode: form.mode, pvid: Number(pvid), ...(form.mode === 'TRUNK' ? { allowedVlans: allowed } : {}) });
    }
  } else if (addVlans?.length === 0) {
    errors.addVlans = 'Enter VLAN IDs to add, or a port to configure.';
  }
  if (Object.keys(errors).length > 0 || !addVlans) return { batch: null, errors };
  return { batch: { addVlans, ports }, errors };
}
