import Type, { type Static, type TLiteral } from 'typebox';
import { DEVICE_ID_PATTERN } from './ids.js';

/** The classes of device the platform knows, as the manual groups them. */
export const DeviceKind = {
  camera: 'camera',
  nvr: 'nvr',
  dvr: 'dvr',
  alarmPanel: 'alarm_panel',
  networkSwitch: 'switch',
  router: 'router',
  other: 'other',
} as const;
export type DeviceKind = (typeof DeviceKind)[keyof typeof DeviceKind];

/** How the edge talks to a device. */
export const DeviceProtocol = { onvif: 'onvif', isapi: 'isapi', dc09: 'dc09' } as const;
export type DeviceProtocol = (typeof DeviceProtocol)[keyof typeof DeviceProtocol];

// Typed as one-element tuples: Static<> of a union over a plain array is `never` in typebox 1.x.
// The schemas at run time are unchanged (one literal per value).
const kinds = Object.values(DeviceKind).map((k) => Type.Literal(k)) as unknown as [TLiteral<DeviceKind>];
const protocols = Object.values(DeviceProtocol).map((k) => Type.Literal(k)) as unknown as [TLiteral<DeviceProtocol>];

export const DeviceReportSchema = Type.Object(
  {
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN }),
    kind: Type.Union(kinds),
    protocol: Type.Union(protocols),
    manufacturer: Type.String({ maxLength: 128 }),
    model: Type.String({ maxLength: 128 }),
    serial: Type.String({ minLength: 1, maxLength: 128 }),
    firmware: Type.String({ maxLength: 128 }),
    name: Type.String({ maxLength: 128 }),
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    online: Type.Boolean(),
    /** When the edge last heard from the device (ms since the epoch). */
    lastSeenAt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
export type DeviceReport = Static<typeof DeviceReportSchema>;
