import { and, eq } from 'drizzle-orm';
import { ArcServiceState, type ArcConnectionMode, type ArcEventType, type ArcTransmission } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcPanels, arcProfiles, devices, siteArcAuthorizations } from '../db/schema.js';
import type { Vault } from '../security/vault.js';
import { toService } from './panels.js';
import { receiverTargets, type ReceiverTarget } from './receivers.js';

export type ForwardingPolicy =
  | {
      allowed: true;
      arc: { companyId: string; arcId: string };
      accountNumber: string;
      /** Only these go to the ARC; a change waiting for the ARC's approval is not in force yet. */
      eventTypes: ArcEventType[];
      connectionMode: ArcConnectionMode;
      transmission: ArcTransmission;
      /** In the order to try them: the first is the primary. */
      receivers: ReceiverTarget[];
    }
  | { allowed: false; reason: 'not_entrusted' | 'awaiting_acceptance' | 'suspended' | 'site_not_authorized' | 'no_receiver' };

/**
 * Whether a panel's events and exceptions may go to an ARC now, and where: only while the ARC has accepted the panel,
 * has not suspended it, and the panel's site is still authorized to that ARC (§4.12.2: "only after the ARC confirms").
 */
export async function forwardingPolicy(db: Db, panelDeviceId: string, vault: Vault): Promise<ForwardingPolicy> {
  const [row] = await db
    .select({ panel: arcPanels, authorizedArc: siteArcAuthorizations.arcCompanyId, arcId: arcProfiles.arcId })
    .from(arcPanels)
    .innerJoin(devices, eq(devices.id, arcPanels.deviceId))
    .leftJoin(siteArcAuthorizations, and(eq(siteArcAuthorizations.siteId, devices.siteId), eq(siteArcAuthorizations.arcCompanyId, arcPanels.arcCompanyId)))
    .leftJoin(arcProfiles, eq(arcProfiles.companyId, arcPanels.arcCompanyId))
    .where(eq(arcPanels.deviceId, panelDeviceId));
  const service = toService(row?.panel);
  if (service.state === ArcServiceState.pending) return { allowed: false, reason: 'awaiting_acceptance' };
  if (service.state === ArcServiceState.suspended) return { allowed: false, reason: 'suspended' };
  if (service.state !== ArcServiceState.accepted || !service.arcCompanyId || !service.accountNumber) return { allowed: false, reason: 'not_entrusted' };
  // The panel moved to a site not authorized to this ARC.
  if (!row?.authorizedArc || !row.arcId) return { allowed: false, reason: 'site_not_authorized' };
  const receivers = await receiverTargets(db, vault, service.arcCompanyId, service.accountNumber);
  if (receivers.length === 0) return { allowed: false, reason: 'no_receiver' };
  return {
    allowed: true,
    arc: { companyId: service.arcCompanyId, arcId: row.arcId },
    accountNumber: service.accountNumber,
    eventTypes: service.eventTypes,
    connectionMode: service.connectionMode,
    transmission: service.transmission,
    receivers,
  };
}
