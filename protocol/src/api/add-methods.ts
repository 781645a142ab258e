import type { LanDeviceClass } from '../lan.js';

/** How a device is added to a site (Table 3-7). */
export const AddMethod = {
  ipDomain: 'ip_domain',
  qrCode: 'qr_code',
  serial: 'serial',
  lan: 'lan',
  onsiteBatch: 'onsite_batch',
  hikConnectSync: 'hik_connect_sync',
} as const;
export type AddMethod = (typeof AddMethod)[keyof typeof AddMethod];

export const ADD_METHOD_LABELS: Record<AddMethod, string> = {
  ip_domain: 'IP/domain',
  qr_code: 'QR code',
  serial: 'serial number',
  lan: 'LAN (SADP)',
  onsite_batch: 'on-site batch configuration',
  hik_connect_sync: 'Hik-Connect sync',
};

/** The device types of Table 3-6, with what users call them. */
const TypeOf: Record<LanDeviceClass, string> = {
  camera: 'encoding device',
  nvr: 'encoding device',
  dvr: 'encoding device',
  alarm_panel: 'security control panel',
  access_control: 'access control device',
  intercom: 'video intercom device',
  switch: 'network device',
  ac_router: 'network device',
  ap: 'network device',
  doorbell: 'doorbell',
  edge_box: 'edge box',
  other: 'other device',
};

const ALL: readonly AddMethod[] = Object.values(AddMethod);
const ENCODING_ONLY: readonly AddMethod[] = ALL;
const NOT_BY_ADDRESS_OR_BATCH = ALL.filter((m) => m !== AddMethod.ipDomain && m !== AddMethod.onsiteBatch);

/**
 * Table 3-6: the methods by which each device type can be added. IP/domain and the on-site batch are for encoding
 * devices only; security control panels and doorbells cannot be added from the LAN either. Devices the table does
 * not name (the edge box, unknown types) are added by serial number only.
 */
const ALLOWED: Record<LanDeviceClass, readonly AddMethod[]> = {
  camera: ENCODING_ONLY,
  nvr: ENCODING_ONLY,
  dvr: ENCODING_ONLY,
  alarm_panel: NOT_BY_ADDRESS_OR_BATCH.filter((m) => m !== AddMethod.lan),
  access_control: NOT_BY_ADDRESS_OR_BATCH,
  intercom: NOT_BY_ADDRESS_OR_BATCH,
  switch: NOT_BY_ADDRESS_OR_BATCH,
  ac_router: NOT_BY_ADDRESS_OR_BATCH,
  ap: NOT_BY_ADDRESS_OR_BATCH,
  doorbell: NOT_BY_ADDRESS_OR_BATCH.filter((m) => m !== AddMethod.lan),
  edge_box: [AddMethod.serial],
  other: [AddMethod.serial],
};

export function addMethodAllowed(method: AddMethod, deviceClass: LanDeviceClass): boolean {
  return ALLOWED[deviceClass].includes(method);
}

/** What the device is called when `method` is refused for it, or null when allowed. */
export function addMethodRefusal(method: AddMethod, deviceClass: LanDeviceClass): string | null {
  return addMethodAllowed(method, deviceClass) ? null : TypeOf[deviceClass];
}

/** The methods that can add this device type, for refusal messages ("add it by QR code, serial number or …"). */
export function addMethodsFor(deviceClass: LanDeviceClass): AddMethod[] {
  return [...ALLOWED[deviceClass]];
}
