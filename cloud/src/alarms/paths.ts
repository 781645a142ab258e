import { ALARM_PATH_EVENT, AlarmPathReportSchema, decoder } from '@vigil/protocol';
import type { StoredEdgeEvent, Tunnel } from '../edges/tunnel.js';
import type { LiveHub } from '../live/hub.js';

const reportDecoder = decoder(AlarmPathReportSchema);

/** Tells the site's company at once when an edge box reports that a panel's route to its ARC failed or recovered. */
export function publishPathReports(tunnel: Tunnel, hub: LiveHub, log: { warn(o: object, m: string): void }): void {
  tunnel.listen({
    eventStored(event: StoredEdgeEvent) {
      if (event.kind !== ALARM_PATH_EVENT) return;
      const report = reportDecoder.decode(event.details);
      // Stored as it came; only a well-formed report is shown live.
      if (!report.ok) return log.warn({ serial: event.serial, error: report.error }, 'malformed alarm path report not published');
      hub.publish(event.companyId, { type: 'alarm.path', siteId: event.siteId, serial: event.serial, report: report.value });
    },
  });
}
