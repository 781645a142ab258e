import { and, eq, isNull, sql } from 'drizzle-orm';
import { ALARM_EVENT_EVENT, ALARM_SENT_EVENT, AlarmEventReportSchema, AlarmSentReportSchema, decoder, type AlarmEventReport, type AlarmSentReport } from '@vigil/protocol';
import { ArcServiceState } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { alarmEvents, arcPanels, devices } from '../db/schema.js';
import type { StoredEdgeEvent, Tunnel } from '../edges/tunnel.js';
import { KeyedQueue } from '../keyed-queue.js';
import type { LiveHub } from '../live/hub.js';

const eventDecoder = decoder(AlarmEventReportSchema);
const sentDecoder = decoder(AlarmSentReportSchema);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Log = { warn(o: object, m: string): void; error(o: object, m: string): void };

/**
 * Fills the alarm log (`alarm_events`) from the edges' `alarm.event` and `alarm.sent` events and tells the portals
 * at once: the installer's company, and the ARC the event was forwarded to. A report sent again changes nothing.
 */
export class AlarmLog {
  /** One box's reports in the order it sent them: a delivery never overtakes its event. */
  private readonly queue = new KeyedQueue();

  constructor(
    private readonly db: Db,
    private readonly hub: LiveHub,
    private readonly log: Log,
    tunnel: Tunnel,
  ) {
    tunnel.listen({ eventStored: (e) => this.stored(e) });
  }

  private stored(event: StoredEdgeEvent): void {
    if (event.kind === ALARM_EVENT_EVENT) {
      const r = eventDecoder.decode(event.details);
      if (!r.ok) return this.log.warn({ serial: event.serial, error: r.error }, 'malformed alarm.event report not logged');
      this.inOrder(event, () => this.record(event, r.value));
    } else if (event.kind === ALARM_SENT_EVENT) {
      const r = sentDecoder.decode(event.details);
      if (!r.ok) return this.log.warn({ serial: event.serial, error: r.error }, 'malformed alarm.sent report not logged');
      this.inOrder(event, () => this.delivered(event, r.value));
    }
  }

  private inOrder(event: StoredEdgeEvent, work: () => Promise<void>): void {
    this.queue.run(event.serial, work).catch((err: unknown) => this.log.error({ err, serial: event.serial, kind: event.kind }, 'alarm log report not recorded'));
  }

  private async record(event: StoredEdgeEvent, r: AlarmEventReport): Promise<void> {
    // Only a panel of the box's own site.
    const [found] =
      r.deviceId !== undefined && UUID.test(r.deviceId)
        ? await this.db
            .select({ deviceId: devices.id, service: arcPanels })
            .from(devices)
            .leftJoin(arcPanels, eq(arcPanels.deviceId, devices.id))
            .where(and(eq(devices.id, r.deviceId), eq(devices.siteId, event.siteId)))
        : [];
    if (!found) return this.log.warn({ serial: event.serial, deviceId: r.deviceId, eventId: r.eventId }, 'alarm.event of no panel of the box’s site not logged');
    // The box forwards only while the ARC has accepted the panel; that ARC, and only it, sees the event.
    const arc = r.forwarded && found.service?.state === ArcServiceState.accepted ? found.service : null;
    const inserted = await this.db
      .insert(alarmEvents)
      .values({
        edgeSerial: event.serial,
        eventId: r.eventId,
        companyId: event.companyId,
        siteId: event.siteId,
        deviceId: found.deviceId,
        account: r.panel,
        token: r.token,
        code: r.event.code,
        restore: r.event.restore,
        zone: r.event.zone,
        area: r.event.area,
        description: r.event.description,
        types: r.types,
        forwarded: r.forwarded,
        arcCompanyId: arc?.arcCompanyId ?? null,
        arcAccount: arc?.accountNumber?.toUpperCase() ?? null,
        receivedAt: new Date(r.receivedAt),
      })
      .onConflictDoNothing()
      .returning({ arcCompanyId: alarmEvents.arcCompanyId });
    if (inserted[0]) this.publish(event.companyId, inserted[0].arcCompanyId, found.deviceId);
  }

  private async delivered(event: StoredEdgeEvent, r: AlarmSentReport): Promise<void> {
    const [row] = await this.db
      .update(alarmEvents)
      .set({
        deliveryPath: r.path,
        deliveredAt: new Date(r.ackedAt),
        transmissionMs: sql`GREATEST(0, ${r.ackedAt}::bigint - (extract(epoch from ${alarmEvents.receivedAt}) * 1000)::bigint)::integer`,
      })
      .where(and(eq(alarmEvents.edgeSerial, event.serial), eq(alarmEvents.eventId, r.eventId), isNull(alarmEvents.deliveredAt)))
      .returning({ companyId: alarmEvents.companyId, arcCompanyId: alarmEvents.arcCompanyId, deviceId: alarmEvents.deviceId });
    if (row) this.publish(row.companyId, row.arcCompanyId, row.deviceId);
  }

  private publish(companyId: string, arcCompanyId: string | null, deviceId: string): void {
    this.hub.publish(companyId, { type: 'alarm.event', deviceId });
    this.hub.publish(arcCompanyId, { type: 'alarm.event', deviceId });
  }
}
