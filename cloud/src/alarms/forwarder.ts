import { and, eq, sql } from 'drizzle-orm';
import { ALARM_FORWARD_EVENT, AlarmForwardSchema, decoder, rewriteDc09Account, RpcMethod, type AlarmForward } from '@vigil/protocol';
import type { Db } from '../db/client.js';
import { devices, jobs } from '../db/schema.js';
import type { StoredEdgeEvent, Tunnel } from '../edges/tunnel.js';
import { JobDeferred, type JobQueue } from '../jobs/queue.js';
import { forwardingPolicy } from '../arc/policy.js';
import type { Vault } from '../security/vault.js';
import { sendToReceivers } from './receiver-client.js';

/** How soon an event waiting behind an earlier one of its panel looks again, if that one did not start it first. */
const ORDER_WAIT_MS = 2_000;

export const ForwardJob = { transmit: 'alarm.forward', delivered: 'alarm.delivered' } as const;

export interface AlarmForwarderOptions {
  rpcTimeoutMs: number;
}

const forwardDecoder = decoder(AlarmForwardSchema);

/**
 * The server path of the edges' alarm relay: an `alarm.forward` event, stored by the tunnel before the edge got
 * its PUBACK, becomes a durable job that sends the event to the panel's ARC receiver over DC-09 until the
 * receiver acknowledges it; then another job tells the edge (`alarms.delivered`) until the edge answers, so that
 * the edge takes the event out of its queue. The route and key come from the ARC service, never from the edge.
 */
export class AlarmForwarder {
  constructor(
    private readonly db: Db,
    private readonly vault: Vault,
    private readonly tunnel: Tunnel,
    private readonly jobs: JobQueue,
    private readonly opts: AlarmForwarderOptions,
    private readonly log: { warn(o: object, m: string): void; error(o: object, m: string): void },
  ) {
    jobs.handle(ForwardJob.transmit, (p) => this.transmit(p));
    jobs.handle(ForwardJob.delivered, (p) => this.tellEdge(String(p.serial), Number(p.eventId)));
    tunnel.listen({ eventStored: (e) => this.stored(e), edgeConnected: (serial) => this.reconnected(serial) });
  }

  private stored(event: StoredEdgeEvent): void {
    if (event.kind !== ALARM_FORWARD_EVENT) return;
    const f = forwardDecoder.decode(event.details);
    if (!f.ok) {
      this.log.warn({ serial: event.serial, error: f.error }, 'malformed alarm.forward event not sent');
      return;
    }
    // Keyed by the box's event: the same event handed over again replaces its job rather than adding one.
    const payload = { serial: event.serial, siteId: event.siteId, forward: f.value };
    this.jobs
      .schedule(`alarm-forward:${event.serial}:${f.value.eventId}`, ForwardJob.transmit, new Date(), payload)
      .catch((err: unknown) => this.log.error({ err, serial: event.serial, eventId: f.value.eventId }, 'alarm forward not scheduled'));
  }

  /** A box back online hears at once about deliveries it missed, rather than at the job's next backoff. */
  private reconnected(serial: string): void {
    this.db
      .update(jobs)
      .set({ runAt: new Date() })
      .where(and(eq(jobs.kind, ForwardJob.delivered), sql`${jobs.payload}->>'serial' = ${serial}`))
      .catch((err: unknown) => this.log.warn({ err, serial }, 'alarm deliveries not hurried'));
  }

  private async transmit(payload: Record<string, unknown>): Promise<void | (() => Promise<void>)> {
    const serial = String(payload.serial);
    const siteId = String(payload.siteId);
    const f = forwardDecoder.decode(payload.forward);
    if (!f.ok) throw new Error(`invalid alarm forward job: ${f.error}`);
    const forward = f.value;
    // Only a panel of the box's own site, and only while its ARC takes its events.
    const [panel] = await this.db.select({ id: devices.id }).from(devices).where(and(eq(devices.id, forward.deviceId), eq(devices.siteId, siteId)));
    const policy = panel ? await forwardingPolicy(this.db, panel.id, this.vault) : null;
    if (!policy?.allowed || policy.receivers.length === 0) {
      // The event stays queued on the box, which hands it over again later.
      this.log.warn({ serial, deviceId: forward.deviceId, reason: policy && !policy.allowed ? policy.reason : 'not_on_site' }, 'alarm event not forwarded');
      return;
    }
    // Per panel, in the box's order: while an earlier event of the panel waits, this one waits behind it; each
    // event done starts the next at once.
    if (await this.panelJob(serial, forward, '<')) throw new JobDeferred('an earlier event of the panel goes first', ORDER_WAIT_MS);
    const account = policy.accountNumber.toUpperCase();
    const message = { token: forward.token, sequence: forward.sequence, account, data: rewriteDc09Account(forward.data, account), xdata: forward.xdata };
    const answer = await sendToReceivers(message, policy.receivers, policy.transmission);
    if (answer.kind !== 'ack') throw new Error(`no receiver acknowledged: ${answer.reason}`);
    await this.jobs.schedule(`alarm-delivered:${serial}:${forward.eventId}`, ForwardJob.delivered, new Date(), { serial, eventId: forward.eventId });
    return async () => {
      const next = await this.panelJob(serial, forward, '>');
      if (next) await this.jobs.runNow(next);
    };
  }

  /** The key of the panel's waiting event just before (`<`) or after (`>`) this one, if any. */
  private async panelJob(serial: string, forward: AlarmForward, side: '<' | '>'): Promise<string | null> {
    const eventId = sql`(${jobs.payload}->'forward'->>'eventId')::bigint`;
    const [row] = await this.db
      .select({ key: jobs.key })
      .from(jobs)
      .where(
        and(
          eq(jobs.kind, ForwardJob.transmit),
          sql`${jobs.payload}->>'serial' = ${serial}`,
          sql`${jobs.payload}->'forward'->>'deviceId' = ${forward.deviceId}`,
          side === '<' ? sql`${eventId} < ${forward.eventId}` : sql`${eventId} > ${forward.eventId}`,
        ),
      )
      .orderBy(side === '<' ? sql`${eventId} DESC` : sql`${eventId} ASC`)
      .limit(1);
    return row?.key ?? null;
  }

  private async tellEdge(serial: string, eventId: number): Promise<void> {
    await this.tunnel.call(serial, RpcMethod.alarmsDelivered, { eventIds: [eventId] }, this.opts.rpcTimeoutMs);
  }
}
