import Type, { type Static } from 'typebox';
import { ARC_EVENT_TYPES } from './arc.js';
import { IsoDateSchema, literals, PageQuerySchema, UuidSchema } from './common.js';


/** Where an event stands with the ARC: `waiting` for its receiver, delivered by one path, or `kept` (a type the ARC does not receive). */
export const AlarmDelivery = { waiting: 'waiting', direct: 'direct', server: 'server', kept: 'kept' } as const;
export type AlarmDelivery = (typeof AlarmDelivery)[keyof typeof AlarmDelivery];
export const ALARM_DELIVERY_LABELS: Record<AlarmDelivery, string> = {
  waiting: 'Waiting',
  direct: 'Delivered direct',
  server: 'Delivered via server',
  kept: 'Kept, not forwarded',
};

const NullableString = Type.Union([Type.String(), Type.Null()]);

const alarmFields = {
  id: Type.String(),
  /** When the panel's message reached the edge box. */
  at: IsoDateSchema,
  code: Type.String(),
  restore: Type.Boolean(),
  zone: NullableString,
  area: NullableString,
  description: Type.String(),
  types: Type.Array(literals(ARC_EVENT_TYPES)),
  delivery: literals(Object.values(AlarmDelivery)),
  deliveredAt: Type.Union([IsoDateSchema, Type.Null()]),
  /** From the panel's message reaching the box to the receiver's acknowledgement. */
  transmissionMs: Type.Union([Type.Integer(), Type.Null()]),
};

/** A panel's event as its installer sees it: every event, forwarded or not. */
export const DeviceAlarmSchema = Type.Object({ ...alarmFields, account: Type.String() });
export type DeviceAlarm = Static<typeof DeviceAlarmSchema>;
export const DeviceAlarmListSchema = Type.Object({ items: Type.Array(DeviceAlarmSchema), total: Type.Integer() });
export type DeviceAlarmList = Static<typeof DeviceAlarmListSchema>;
export const DeviceAlarmQuerySchema = Type.Object({ ...PageQuerySchema.properties });
export type DeviceAlarmQuery = Static<typeof DeviceAlarmQuerySchema>;

/** An event in an ARC's alarm inbox: only events forwarded to it, from panels entrusted to it. */
export const ArcAlarmSchema = Type.Object({
  ...alarmFields,
  deviceId: UuidSchema,
  device: Type.String(),
  installer: Type.String(),
  site: Type.String(),
  /** The account number the ARC knows the panel by. */
  account: Type.String(),
});
export type ArcAlarm = Static<typeof ArcAlarmSchema>;
export const ArcAlarmListSchema = Type.Object({ items: Type.Array(ArcAlarmSchema), total: Type.Integer() });
export type ArcAlarmList = Static<typeof ArcAlarmListSchema>;

/** Newest first; `from`/`to` bound the time the event reached the box, `category` is one of its ARC event types. */
export const ArcAlarmQuerySchema = Type.Object({
  ...PageQuerySchema.properties,
  deviceId: Type.Optional(UuidSchema),
  from: Type.Optional(IsoDateSchema),
  to: Type.Optional(IsoDateSchema),
  category: Type.Optional(literals(ARC_EVENT_TYPES)),
});
export type ArcAlarmQuery = Static<typeof ArcAlarmQuerySchema>;
