import Type, { type Static } from 'typebox';
import { DeviceKind, DeviceProtocol } from '../devices.js';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

export const DEVICE_KIND_LABELS: Record<DeviceKind, string> = {
  camera: 'Network camera',
  nvr: 'NVR',
  dvr: 'DVR',
  alarm_panel: 'Security control panel',
  switch: 'Network switch',
  router: 'Router',
  other: 'Other',
};

/**
 * Table 3-5: how the platform reaches a device. P2P (Hik-Connect): through the site's edge box, or the device's own
 * connection to the platform; IP/domain: the cloud calls the device at its WAN address.
 */
export const DeviceAccessMode = { p2p: 'p2p', ipDomain: 'ip_domain' } as const;
export type DeviceAccessMode = (typeof DeviceAccessMode)[keyof typeof DeviceAccessMode];
export const DEVICE_ACCESS_MODE_LABELS: Record<DeviceAccessMode, string> = { p2p: 'Hik-Connect P2P', ip_domain: 'IP/Domain' };

export const DeviceSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  /** The edge box that reaches it; null for a device that connects to the platform by itself or by IP/domain. */
  edgeSerial: Type.Union([Type.String(), Type.Null()]),
  kind: literals(Object.values(DeviceKind)),
  protocol: literals(Object.values(DeviceProtocol)),
  manufacturer: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  /** The 9-character serial of §3.1.4 (null: the serial has none). */
  shortSerial: Type.Union([Type.String(), Type.Null()]),
  firmware: Type.String(),
  name: Type.String(),
  address: Type.String(),
  accessMode: Type.Union([Type.Literal('p2p'), Type.Literal('ip_domain')]),
  /** What its access mode allows (Table 3-5): IP/domain devices cannot be handed over and have no cloud-based features. */
  features: Type.Object({ handover: Type.Boolean(), remoteConfiguration: Type.Boolean(), healthMonitoring: Type.Boolean() }),
  /** Video channels the device brings to its site. */
  channels: Type.Integer({ minimum: 0 }),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
  statusChangedAt: Type.Union([IsoDateSchema, Type.Null()]),
  lastSeenAt: Type.Union([IsoDateSchema, Type.Null()]),
  offlineDelaySec: Type.Union([Type.Integer(), Type.Null()]),
  createdAt: IsoDateSchema,
});
export type Device = Static<typeof DeviceSchema>;
export const DeviceListSchema = Type.Object({ items: Type.Array(DeviceSchema) });

export const UpdateDeviceBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    offlineDelaySec: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 86_400 }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateDeviceBody = Static<typeof UpdateDeviceBodySchema>;

/** What a device's access mode allows (Table 3-5). */
export function accessModeFeatures(mode: DeviceAccessMode): Device['features'] {
  const p2p = mode === DeviceAccessMode.p2p;
  return { handover: p2p, remoteConfiguration: p2p, healthMonitoring: p2p };
}

/**
 * Add a device by its serial number and verification code (Table 3-7): the device must be connected to the platform
 * (Hik-Connect service on). A long serial is read by the short-serial rule of §3.1.4. Devices without a verification
 * code (AC router; AX HOME from the mobile app only) are added by serial alone.
 */
export const AddDeviceBySerialBodySchema = Type.Object(
  {
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    verificationCode: Type.Optional(Type.String({ maxLength: 32 })),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type AddDeviceBySerialBody = Static<typeof AddDeviceBySerialBodySchema>;

/**
 * Add an encoding device by its IP address or domain name (Table 3-7): the platform logs in to the device with the
 * given user, so the address must be reachable from the cloud (mapped on the WAN).
 */
export const AddDeviceByAddressBodySchema = Type.Object(
  {
    address: Type.String({ minLength: 1, maxLength: 253 }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    username: Type.String({ minLength: 1, maxLength: 32 }),
    password: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type AddDeviceByAddressBody = Static<typeof AddDeviceByAddressBodySchema>;
