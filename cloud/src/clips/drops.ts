import { and, eq } from 'drizzle-orm';
import { CLIP_DROPPED_EVENT, ClipDroppedReportSchema, decoder, parseChannelKey, type ClipDroppedReport } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { clipDrops, devices } from '../db/schema.js';
import type { StoredEdgeEvent, Tunnel } from '../edges/tunnel.js';
import type { LiveHub } from '../live/hub.js';

const reportDecoder = decoder(ClipDroppedReportSchema);
type Log = { warn(o: object, m: string): void; error(o: object, m: string): void };

/**
 * Puts the clips a box gave up (its `clip.dropped` events) into the event timeline beside the stored clips, so an
 * event that has no clip still shows, with why. A report sent again changes nothing.
 */
export class ClipDropLog {
  constructor(
    private readonly db: Db,
    private readonly hub: LiveHub,
    private readonly log: Log,
    tunnel: Tunnel,
  ) {
    tunnel.listen({
      eventStored: (e) => {
        if (e.kind !== CLIP_DROPPED_EVENT) return;
        const r = reportDecoder.decode(e.details);
        if (!r.ok) return this.log.warn({ serial: e.serial, error: r.error }, 'malformed clip.dropped report not recorded');
        this.record(e, r.value).catch((err: unknown) => this.log.error({ err, serial: e.serial }, 'clip.dropped report not recorded'));
      },
    });
  }

  async record(event: Pick<StoredEdgeEvent, 'serial'>, r: ClipDroppedReport): Promise<boolean> {
    const { deviceId, channel } = parseChannelKey(r.channelKey);
    // Only a channel the box itself reaches.
    const [device] = await this.db
      .select({ companyId: devices.companyId, siteId: devices.siteId })
      .from(devices)
      .where(and(eq(devices.id, deviceId), eq(devices.edgeSerial, event.serial)));
    if (!device) {
      this.log.warn({ serial: event.serial, channelKey: r.channelKey }, 'clip.dropped of a channel the box does not reach not recorded');
      return false;
    }
    const inserted = await this.db
      .insert(clipDrops)
      .values({
        edgeSerial: event.serial,
        companyId: device.companyId,
        siteId: device.siteId,
        deviceId,
        channel,
        eventTypes: [...new Set(r.events.map((e) => e.type))],
        eventAt: new Date(Math.min(...r.events.map((e) => e.at))),
        reason: r.reason,
        message: r.message,
        bytes: r.bytes,
        droppedAt: new Date(r.droppedAt),
      })
      .onConflictDoNothing()
      .returning({ id: clipDrops.id });
    if (inserted.length === 0) return false;
    this.hub.publish(device.companyId, { type: 'clip.new', siteId: device.siteId, deviceId });
    return true;
  }
}
