import Type, { type Static } from 'typebox';
// Types only: the panel rules module also holds the DC-09 code, which has no place in the portal's bundle.
import type { PanelArming, PanelAreaState, PanelOperation, PanelRefusalReason, ZoneType } from '../panels.js';
import { IsoDateSchema, literals, UuidSchema } from './common.js';

/**
 * Controlling a security control panel from the portal (manual §3.2.2, "Control Areas/Zones"): its areas, zones and
 * host status read live from the panel, and arming, disarming, silencing and clearing the alarm of an area. Only
 * panels connected to the platform by themselves (Hik-Connect P2P) are reached, and the model's rules are applied
 * before anything is sent to the panel.
 *
 *   GET  /devices/:deviceId/panel
 *   POST /devices/:deviceId/panel/areas/:area/{away-arm|stay-arm|disarm|silence|clear-alarm}
 */

/** The refusals of the panel routes, besides the API's common ones. */
export const PanelErrorCode = {
  /** The device is not a security control panel (409). */
  notAlarmPanel: 'NOT_AN_ALARM_PANEL',
  /** The panel is reached through an edge box or by IP/domain, not over its own platform connection (409). */
  notP2p: 'PANEL_NOT_P2P',
  /** AX HUB and AX HYBRID take generic management only (422). */
  controlNotSupported: 'PANEL_CONTROL_NOT_SUPPORTED',
  /** AX HOME (422). */
  stayArmNotSupported: 'PANEL_STAY_ARM_NOT_SUPPORTED',
  /** AX HYBRID PRO (422). */
  silenceNotSupported: 'PANEL_SILENCE_NOT_SUPPORTED',
  /** The panel has no such area (404). */
  areaNotFound: 'PANEL_AREA_NOT_FOUND',
  /** Arming an area whose alarm is not cleared (409). */
  areaInAlarm: 'PANEL_AREA_IN_ALARM',
  /** The panel refused for a reason of its own (502). */
  refused: 'PANEL_REFUSED',
  /** The panel's answer could not be read (502). */
  badAnswer: 'PANEL_BAD_ANSWER',
} as const;
export type PanelErrorCode = (typeof PanelErrorCode)[keyof typeof PanelErrorCode];

/** The code of each model rule's refusal. */
export const PANEL_REFUSAL_CODES: Record<PanelRefusalReason, PanelErrorCode> = {
  controlNotSupported: PanelErrorCode.controlNotSupported,
  stayArmNotSupported: PanelErrorCode.stayArmNotSupported,
  silenceNotSupported: PanelErrorCode.silenceNotSupported,
};

/** The last segment of each operation's path. */
export const PANEL_OPERATION_PATHS = {
  away_arm: 'away-arm',
  stay_arm: 'stay-arm',
  disarm: 'disarm',
  silence: 'silence',
  clear_alarm: 'clear-alarm',
} as const satisfies Record<PanelOperation, string>;

export const PANEL_OPERATION_LABELS: Record<PanelOperation, string> = {
  away_arm: 'Away',
  stay_arm: 'Stay',
  disarm: 'Disarm',
  silence: 'Silence',
  clear_alarm: 'Clear alarm',
};

/** How the operation log names each operation, in the manual's words. */
export const PANEL_OPERATION_LOG: Record<PanelOperation, string> = {
  away_arm: 'Away Arm',
  stay_arm: 'Stay Arm',
  disarm: 'Disarm',
  silence: 'Silence Alarm',
  clear_alarm: 'Clear Alarm',
};

/** The manual's names of an area's states (Table 4-4, "Area of Security Control Panel"). */
export const PANEL_AREA_STATE_LABELS: Record<PanelAreaState, string> = {
  disarmed: 'Disarmed',
  away_armed: 'Away Arming',
  stay_armed: 'Stay Arming',
  alarm: 'Alarm',
};

export const ZONE_TYPE_LABELS: Record<ZoneType, string> = {
  instant: 'Instant',
  delay: 'Delayed',
  '24h': '24-hour',
  fire: 'Fire',
  panic: 'Panic',
  tamper: 'Tamper',
};

const keys = <T extends string>(record: Record<T, unknown>) => Object.keys(record) as T[];
const ARMINGS: Record<PanelArming, true> = { disarmed: true, away: true, stay: true };

export const PanelAreaSchema = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  arming: literals(keys(ARMINGS)),
  state: literals(keys(PANEL_AREA_STATE_LABELS)),
  /** An alarm is in memory: silencing keeps it, clearing or disarming ends it. */
  alarm: Type.Boolean(),
  siren: Type.Boolean(),
  /** A delay zone was triggered and the entry delay runs. */
  entryDelay: Type.Boolean(),
});
export type PanelArea = Static<typeof PanelAreaSchema>;

export const PanelZoneSchema = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  name: Type.String(),
  area: Type.Integer({ minimum: 1 }),
  type: literals(keys(ZONE_TYPE_LABELS)),
  /** The detector is triggered (door open, motion, smoke...). */
  active: Type.Boolean(),
  alarm: Type.Boolean(),
  tamper: Type.Boolean(),
  /** Left out when its area is stay armed. */
  stayBypass: Type.Boolean(),
});
export type PanelZone = Static<typeof PanelZoneSchema>;

export const PanelHostSchema = Type.Object({
  acPowerLoss: Type.Boolean(),
  batteryLow: Type.Boolean(),
  /** The panel's own enclosure is open. */
  tamper: Type.Boolean(),
  arcEnabled: Type.Boolean(),
  arcQueued: Type.Integer({ minimum: 0 }),
  arcCommFailure: Type.Boolean(),
});
export type PanelHost = Static<typeof PanelHostSchema>;

export const PanelStatusSchema = Type.Object({
  deviceId: UuidSchema,
  /** As the panel reports it: AX HOME, AX PRO, AX HUB, AX HYBRID or AX HYBRID PRO. */
  model: Type.String(),
  capabilities: Type.Object({
    control: Type.Boolean(),
    stayArm: Type.Boolean(),
    silence: Type.Boolean(),
    verificationCode: Type.Boolean(),
    configure: Type.Boolean(),
    upgradePin: Type.Boolean(),
    templates: Type.Boolean(),
  }),
  /** Every operation on an area, with why the model refuses it (null: it takes it). */
  operations: Type.Array(Type.Object({ operation: literals(keys(PANEL_OPERATION_PATHS)), refusal: Type.Union([Type.String(), Type.Null()]) })),
  areas: Type.Array(PanelAreaSchema),
  zones: Type.Array(PanelZoneSchema),
  host: PanelHostSchema,
  readAt: IsoDateSchema,
});
export type PanelStatus = Static<typeof PanelStatusSchema>;

/** An operation was done; the panel's status read afterwards, or null when that read failed. */
export const PanelOperationReplySchema = Type.Object({
  operation: literals(keys(PANEL_OPERATION_PATHS)),
  area: Type.Integer({ minimum: 1 }),
  status: Type.Union([PanelStatusSchema, Type.Null()]),
  /** Why the status could not be read afterwards. */
  statusError: Type.Optional(Type.String()),
});
export type PanelOperationReply = Static<typeof PanelOperationReplySchema>;
