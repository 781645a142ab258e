import { and, asc, eq } from 'drizzle-orm';
import { ALARM_RELAY_PANELS_MAX, DeviceKind, type AlarmPanelConfig, type AlarmRetry, type AlarmsConfigureParams } from '@vigil/protocol';
import { ArcServiceState, type ArcTransmission } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcPanels, devices, edges } from '../db/schema.js';
import { forwardingPolicy } from '../arc/policy.js';
import type { Vault } from '../security/vault.js';

/**
 * Rounds of attempts (the panel's impulse counting time × attempts) 5 s apart, doubling to 5 min, so that a
 * receiver that is down is not hammered.
 */
export const ALARM_BACKOFF = { backoffMs: 5_000, backoffMaxMs: 300_000 } as const;

/** What the box does for a panel with these Table 3-8 settings. */
export function relayRetry(t: ArcTransmission): { retry: AlarmRetry; pollingMs: number } {
  return {
    retry: { ackTimeoutMs: Math.round(t.impulseCountingTimeSec * 1000), attempts: t.attempts, ...ALARM_BACKOFF },
    pollingMs: Math.round(t.pollingRateSec * 1000),
  };
}

/**
 * The box that relays a site's panels: the first online one by serial, else the first by serial. Online is the
 * declared presence, so a short outage of the relaying box does not move its panels.
 */
export async function relayEdgeOf(db: Db, siteId: string): Promise<{ serial: string; status: string } | null> {
  const rows = await db.select({ serial: edges.serial, status: edges.status }).from(edges).where(eq(edges.siteId, siteId)).orderBy(asc(edges.serial));
  return rows.find((r) => r.status === 'online') ?? rows[0] ?? null;
}

/**
 * The `alarms.configure` params of one edge box: the panels of its site the ARC accepted and forwarding allows,
 * if it is the site's relaying box; none otherwise.
 */
export async function relayConfigFor(db: Db, vault: Vault, edgeSerial: string): Promise<AlarmsConfigureParams> {
  const [edge] = await db.select({ siteId: edges.siteId }).from(edges).where(eq(edges.serial, edgeSerial));
  if (!edge?.siteId || (await relayEdgeOf(db, edge.siteId))?.serial !== edgeSerial) return { panels: [] };
  const candidates = await db
    .select({ id: devices.id })
    .from(devices)
    .innerJoin(arcPanels, eq(arcPanels.deviceId, devices.id))
    .where(and(eq(devices.siteId, edge.siteId), eq(devices.kind, DeviceKind.alarmPanel), eq(arcPanels.state, ArcServiceState.accepted)))
    .orderBy(asc(devices.id));
  const panels: AlarmPanelConfig[] = [];
  for (const { id } of candidates) {
    const policy = await forwardingPolicy(db, id, vault);
    const receiver = policy.allowed ? policy.receivers[0] : undefined;
    if (!policy.allowed || !receiver) continue;
    panels.push({
      // Installers set the panel to report to the box with the account the ARC assigned, so the box knows the
      // panel by that account too; it needs no DC-09 key on the LAN side.
      account: policy.accountNumber,
      deviceId: id,
      arc: {
        host: receiver.host,
        port: receiver.port,
        transport: receiver.transport,
        account: policy.accountNumber,
        ...(receiver.encryptionKey ? { key: receiver.encryptionKey } : {}),
      },
      connectionMode: policy.connectionMode,
      ...relayRetry(policy.transmission),
      eventTypes: policy.eventTypes,
    });
  }
  return { panels: panels.slice(0, ALARM_RELAY_PANELS_MAX) };
}
