import type { AlarmPathReport } from '../alarms.js';

/**
 * Server-sent events on `GET /api/v1/live`: one JSON object per `data:` line, telling the portal what
 * changed so it can refetch or patch what it shows. Only events of the viewer's company are sent.
 */
export type LiveEvent =
  | { type: 'edge.status'; siteId: string; serial: string; status: 'online' | 'offline'; connected: boolean; at: string }
  | { type: 'device.status'; siteId: string; deviceId: string; status: 'online' | 'offline'; at: string }
  | { type: 'devices.changed'; siteId: string }
  | { type: 'site.changed'; siteId: string }
  | { type: 'edges.changed'; siteId: string }
  /** What the site's edge boxes see on the LAN changed (On-site page). */
  | { type: 'lan.changed'; siteId: string }
  /** An activation job of the site reported progress. */
  | { type: 'onsite.job'; siteId: string; jobId: string }
  /** A panel's ARC service or the site's ARC authorization changed; sent to the installer and to the ARC. */
  | { type: 'arc.changed'; siteId: string }
  /** A security control panel was armed, disarmed, silenced or cleared from the platform. */
  | { type: 'panel.changed'; siteId: string; deviceId: string }
  /** An edge box's route for a panel's alarms to its ARC failed, or answers again (`alarm.path` event). */
  | { type: 'alarm.path'; siteId: string; serial: string; report: AlarmPathReport }
  /** A panel's event reached the alarm log, or its delivery to the ARC did; sent to the installer and to the ARC it was forwarded to. */
  | { type: 'alarm.event'; deviceId: string }
  /** A clip of the site reached Cloud Storage, or its edge box reported one it gave up (event timeline). */
  | { type: 'clip.new'; siteId: string; deviceId: string };
