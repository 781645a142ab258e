import Type, { type Static } from 'typebox';
import { DeviceKind, DeviceProtocol } from '../devices.js';
import { IsoDateSchema, UuidSchema } from './common.js';

export const DEVICE_KIND_LABELS: Record<DeviceKind, string> = {
  camera: 'Network camera',
  nvr: 'NVR',
  dvr: 'DVR',
  alarm_panel: 'Security control panel',
  switch: 'Network switch',
  router: 'Router',
  other: 'Other',
};

/** Table 3-5: how the platform reaches a device. Everything added through the edge is P2P. */
export const DeviceAccessMode = { p2p: 'p2p', ipDomain: 'ip_domain' } as const;
export type DeviceAccessMode = (typeof DeviceAccessMode)[keyof typeof DeviceAccessMode];
export const DEVICE_ACCESS_MODE_LABELS: Record<DeviceAccessMode, string> = { p2p: 'Hik-Connect P2P', ip_domain: 'IP/Domain' };

export const DeviceSchema = Type.Object({
  id: UuidSchema,
  siteId: UuidSchema,
  edgeSerial: Type.String(),
  kind: Type.Union(Object.values(DeviceKind).map((k) => Type.Literal(k))),
  protocol: Type.Union(Object.values(DeviceProtocol).map((k) => Type.Literal(k))),
  manufacturer: Type.String(),
  model: Type.String(),
  serial: Type.String(),
  firmware: Type.String(),
  name: Type.String(),
  address: Type.String(),
  accessMode: Type.Union([Type.Literal('p2p'), Type.Literal('ip_domain')]),
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
