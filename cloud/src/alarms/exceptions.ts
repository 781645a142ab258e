import { and, eq, inArray } from 'drizzle-orm';
import { ContactIdQualifier, Dc09Token, encodeContactId } from '@vigil/protocol';
import { ArcEventType, ArcServiceState } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { arcPanels, devices } from '../db/schema.js';
import type { JobQueue } from '../jobs/queue.js';
import { forwardingPolicy } from '../arc/policy.js';
import type { Vault } from '../security/vault.js';
import { relayEdgeOf } from './config.js';
import { sendToReceivers } from './receiver-client.js';

export const EXCEPTION_JOB = 'arc.exception';
/** Contact ID "Communication trouble": the panel's events cannot reach the ARC; its restore when they can again. */
export const COMMUNICATION_TROUBLE = 350;

export const ExceptionState = { normal: 'normal', trouble: 'trouble' } as const;
export type ExceptionState = (typeof ExceptionState)[keyof typeof ExceptionState];

/**
 * The cloud's own report to the ARC (§4.12: the ARC receives the panel's events "and device exceptions"): once the
 * box relaying a site's panels has been silent past the offline delay, their alarms can no longer reach the ARC, so
 * the ARC is told — Contact ID 350, communication trouble, under each panel's account — and told the restore when
 * the box is back. Only ARCs that take device exceptions are told.
 *
 * A durable job per panel compares what the ARC should know with what it acknowledged, so a report survives a
 * restart and a trouble that cleared before it went out is never sent. A report keeps its sequence number through
 * every resend, so a receiver that got it but whose ACK was lost recognizes the repeat.
 */
export class ArcExceptionReporter {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly jobs: JobQueue,
  ) {
    jobs.handle(EXCEPTION_JOB, (p) => this.reconcile(String(p.deviceId)));
  }

  /** A box of the site was declared offline or came back: each panel the site's ARC serves is looked at again. */
  async siteRelayChanged(siteId: string): Promise<void> {
    const panels = await this.db
      .select({ id: arcPanels.deviceId })
      .from(arcPanels)
      .innerJoin(devices, eq(devices.id, arcPanels.deviceId))
      .where(and(eq(devices.siteId, siteId), inArray(arcPanels.state, [ArcServiceState.accepted, ArcServiceState.suspended])));
    for (const { id } of panels) await this.jobs.schedule(`arc-exception:${id}`, EXCEPTION_JOB, new Date(), { deviceId: id });
  }

  private async reconcile(deviceId: string): Promise<void> {
    const [row] = await this.db
      .select({ panel: arcPanels, siteId: devices.siteId })
      .from(arcPanels)
      .innerJoin(devices, eq(devices.id, arcPanels.deviceId))
      .where(eq(arcPanels.deviceId, deviceId));
    if (!row?.siteId) return;
    const wanted = (await this.relayIsOffline(row.siteId)) ? ExceptionState.trouble : ExceptionState.normal;
    const p = row.panel;
    if (p.exceptionState === wanted && p.exceptionSending === null) return;

    const policy = await forwardingPolicy(this.db, deviceId, this.vault);
    if (!policy.allowed || policy.receivers.length === 0 || !policy.eventTypes.includes(ArcEventType.deviceException)) {
      // This ARC is not to hear it: nothing is owed to it later either.
      await this.db.update(arcPanels).set({ exceptionState: wanted, exceptionSending: null }).where(eq(arcPanels.deviceId, deviceId));
      return;
    }
    const sequence = p.exceptionSending === wanted ? p.exceptionSequence : (p.exceptionSequence % 9999) + 1;
    if (p.exceptionSending !== wanted) {
      await this.db.update(arcPanels).set({ exceptionSending: wanted, exceptionSequence: sequence }).where(eq(arcPanels.deviceId, deviceId));
    }
    const account = policy.accountNumber.toUpperCase();
    const data = encodeContactId({
      account,
      qualifier: wanted === ExceptionState.trouble ? ContactIdQualifier.newEvent : ContactIdQualifier.restore,
      code: COMMUNICATION_TROUBLE,
      partition: 0,
      zone: 0,
    });
    if (!data.ok) throw new Error(`cannot encode the exception: ${data.error}`);
    const answer = await sendToReceivers({ token: Dc09Token.contactId, sequence, account, data: data.value, xdata: [] }, policy.receivers, policy.transmission);
    // The job queue runs this again with its backoff.
    if (answer.kind !== 'ack') throw new Error(`the receiver did not acknowledge the exception: ${answer.reason}`);
    await this.db
      .update(arcPanels)
      .set({ exceptionState: wanted, exceptionSending: null })
      .where(and(eq(arcPanels.deviceId, deviceId), eq(arcPanels.exceptionSending, wanted)));
  }

  /** Whether the box relaying the site's panels is declared offline; a site without a box has nothing to report. */
  private async relayIsOffline(siteId: string): Promise<boolean> {
    return (await relayEdgeOf(this.db, siteId))?.status === 'offline';
  }
}
