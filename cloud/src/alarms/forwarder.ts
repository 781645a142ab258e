import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import {
  ALARM_FORWARD_EVENT,
  AlarmForwardSchema,
  decodeDc09Frame,
  decoder,
  Dc09FrameSplitter,
  Dc09Token,
  encodeDc09Frame,
  parseDc09Key,
  rewriteDc09Account,
  RpcMethod,
  type AlarmForward,
  type Dc09Key,
} from '@vigil/protocol';
import type { ArcTransmission } from '@vigil/protocol/api';
import type { Db } from '../db/client.js';
import { devices, jobs } from '../db/schema.js';
import type { StoredEdgeEvent, Tunnel } from '../edges/tunnel.js';
import type { JobQueue } from '../jobs/queue.js';
import { forwardingPolicy } from '../arc/policy.js';
import type { ReceiverTarget } from '../arc/receivers.js';
import type { Vault } from '../security/vault.js';

export const ForwardJob = { transmit: 'alarm.forward', delivered: 'alarm.delivered' } as const;

export interface AlarmForwarderOptions {
  rpcTimeoutMs: number;
}

const forwardDecoder = decoder(AlarmForwardSchema);

type Answer = { kind: 'ack' } | { kind: 'nak'; receiverTime: Date | undefined } | { kind: 'none'; reason: string };

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

  private async transmit(payload: Record<string, unknown>): Promise<void> {
    const serial = String(payload.serial);
    const siteId = String(payload.siteId);
    const f = forwardDecoder.decode(payload.forward);
    if (!f.ok) throw new Error(`invalid alarm forward job: ${f.error}`);
    const forward = f.value;
    // Only a panel of the box's own site, and only while its ARC takes its events.
    const [panel] = await this.db.select({ id: devices.id }).from(devices).where(and(eq(devices.id, forward.deviceId), eq(devices.siteId, siteId)));
    const policy = panel ? await forwardingPolicy(this.db, panel.id, this.vault) : null;
    const receiver = policy?.allowed ? policy.receivers[0] : undefined;
    if (!policy?.allowed || !receiver) {
      // The event stays queued on the box, which hands it over again later.
      this.log.warn({ serial, deviceId: forward.deviceId, reason: policy && !policy.allowed ? policy.reason : 'not_on_site' }, 'alarm event not forwarded');
      return;
    }
    const answer = await this.send(forward, policy.accountNumber.toUpperCase(), receiver, policy.transmission);
    if (answer.kind !== 'ack') throw new Error(`the receiver did not acknowledge: ${answer.reason}`);
    await this.jobs.schedule(`alarm-delivered:${serial}:${forward.eventId}`, ForwardJob.delivered, new Date(), { serial, eventId: forward.eventId });
  }

  /**
   * Sends the frame as the panel's settings say (attempts, each waiting the impulse counting time); a NAK with the
   * receiver's time sends again on its clock. The job queue retries a failed run with its backoff.
   */
  private async send(forward: AlarmForward, account: string, receiver: ReceiverTarget, t: ArcTransmission): Promise<Exclude<Answer, { kind: 'nak' }>> {
    let key: Dc09Key | null = null;
    if (receiver.encryptionKey) {
      const parsed = parseDc09Key(receiver.encryptionKey);
      if (!parsed.ok) return { kind: 'none', reason: `unusable key: ${parsed.error}` };
      key = parsed.value;
    }
    let offsetMs = 0;
    let reason = '';
    const ackTimeoutMs = Math.round(t.impulseCountingTimeSec * 1000);
    for (let attempt = 1; attempt <= t.attempts; attempt++) {
      const frame = encodeDc09Frame({
        id: forward.token,
        sequence: forward.sequence,
        account,
        line: '0',
        data: rewriteDc09Account(forward.data, account),
        xdata: forward.xdata,
        timestamp: new Date(Date.now() + offsetMs),
        key,
      });
      if (!frame.ok) return { kind: 'none', reason: `cannot encode the message: ${frame.error}` };
      const answer = await exchange(receiver, frame.value, { sequence: forward.sequence, account }, key, ackTimeoutMs);
      if (answer.kind === 'ack') return answer;
      if (answer.kind === 'nak') {
        if (answer.receiverTime) offsetMs = answer.receiverTime.getTime() - Date.now();
        reason = 'NAK';
      } else reason = answer.reason;
    }
    return { kind: 'none', reason };
  }

  private async tellEdge(serial: string, eventId: number): Promise<void> {
    await this.tunnel.call(serial, RpcMethod.alarmsDelivered, { eventIds: [eventId] }, this.opts.rpcTimeoutMs);
  }
}

/** One send of a frame over a fresh TCP connection or UDP socket, waiting up to `timeoutMs` for its answer. */
function exchange(to: ReceiverTarget, frame: Buffer, expect: { sequence: number; account: string }, key: Dc09Key | null, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    let close = (): void => undefined;
    let settled = false;
    const done = (a: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      close();
      resolve(a);
    };
    const timer = setTimeout(() => done({ kind: 'none', reason: `no answer within ${timeoutMs} ms` }), timeoutMs);
    const onFrame = (f: Buffer): void => {
      const decoded = decodeDc09Frame(f, (h) => (h.encrypted ? key : null));
      if (!decoded.ok) return;
      const m = decoded.value;
      if (m.id === Dc09Token.nak) return done({ kind: 'nak', receiverTime: m.timestamp });
      if (m.sequence !== expect.sequence || (m.account !== undefined && m.account.toUpperCase() !== expect.account)) return;
      if (m.id === Dc09Token.duh) return done({ kind: 'none', reason: 'DUH' });
      // A plain-text answer to an encrypted message proves nothing.
      if (m.id === Dc09Token.ack && m.encrypted === (key !== null)) done({ kind: 'ack' });
    };
    if (to.transport === 'tcp') {
      const socket = connect({ host: to.host, port: to.port, noDelay: true });
      close = () => socket.destroy();
      const splitter = new Dc09FrameSplitter();
      socket.on('data', (chunk: Buffer) => {
        for (const f of splitter.push(chunk).frames) onFrame(f);
      });
      socket.once('connect', () => socket.write(frame));
      socket.on('error', (err) => done({ kind: 'none', reason: err.message }));
    } else {
      const udp = createSocket({ type: isIPv6(to.host) ? 'udp6' : 'udp4' });
      close = () => udp.close();
      udp.on('message', onFrame);
      udp.on('error', (err) => done({ kind: 'none', reason: err.message }));
      udp.connect(to.port, to.host, () => udp.send(frame));
    }
  });
}
