import Type, { type Static } from 'typebox';
import { AlarmPathState, AlarmTimingStatusSchema } from '../alarms.js';
import { ArcConnectionMode } from './arc.js';
import { literals } from './common.js';

/**
 * The installer's view of how the site's edge box relays its panels to the ARC, read from the box when asked: each
 * panel's path (direct and answering, failed, or through the server) and what waits, and the transmission times
 * against the configured classes. The ARC's receiver address and keys are the ARC's and are left out.
 */
const Time = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const RelayedPanelSchema = Type.Object({
  deviceId: Type.Union([Type.String(), Type.Null()]),
  account: Type.String(),
  connectionMode: literals(Object.values(ArcConnectionMode)),
  path: literals(Object.values(AlarmPathState)),
  pathSince: Time,
  /** Events the receiver has not acknowledged yet. */
  queued: Type.Integer({ minimum: 0 }),
  oldestQueuedAt: Time,
  lastAckAt: Time,
  lastPanelMessageAt: Time,
});
export type RelayedPanel = Static<typeof RelayedPanelSchema>;

export const SiteAlarmRelaySchema = Type.Object({
  /** The box relaying the site's panels. */
  serial: Type.String(),
  panels: Type.Array(RelayedPanelSchema),
  timing: AlarmTimingStatusSchema,
});
export type SiteAlarmRelay = Static<typeof SiteAlarmRelaySchema>;
