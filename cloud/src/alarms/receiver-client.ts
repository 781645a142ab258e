import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { decodeDc09Frame, Dc09FrameSplitter, Dc09Token, encodeDc09Frame, parseDc09Key, type Dc09ExtendedData, type Dc09Key } from '@vigil/protocol';
import type { ArcTransmission } from '@vigil/protocol/api';
import type { ReceiverTarget } from '../arc/receivers.js';

/** A message the cloud sends to an ARC receiver: an edge's event on the server path, or the cloud's own report. */
export interface OutgoingDc09 {
  token: typeof Dc09Token.sia | typeof Dc09Token.contactId;
  sequence: number;
  /** Upper-case: the account the ARC knows the panel by. */
  account: string;
  data: string;
  xdata: Dc09ExtendedData[];
}

export type ReceiverAnswer = { kind: 'ack' } | { kind: 'none'; reason: string };
type Answer = ReceiverAnswer | { kind: 'nak'; receiverTime: Date | undefined };

/**
 * Sends to the ARC's receivers in its order: a backup receiver gets the message only when the ones before it did
 * not acknowledge it.
 */
export async function sendToReceivers(m: OutgoingDc09, receivers: readonly ReceiverTarget[], t: ArcTransmission): Promise<ReceiverAnswer> {
  const reasons: string[] = [];
  for (const receiver of receivers) {
    const answer = await sendToReceiver(m, receiver, t);
    if (answer.kind === 'ack') return answer;
    reasons.push(`${receiver.host}:${receiver.port}: ${answer.reason}`);
  }
  return { kind: 'none', reason: reasons.join('; ') || 'no receiver' };
}

/**
 * Sends a message as the panel's transmission settings say (attempts, each waiting the impulse counting time); a
 * NAK with the receiver's time sends again on its clock. The caller's durable job retries a failed run.
 */
export async function sendToReceiver(m: OutgoingDc09, receiver: ReceiverTarget, t: ArcTransmission): Promise<ReceiverAnswer> {
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
      id: m.token,
      sequence: m.sequence,
      account: m.account,
      line: '0',
      data: m.data,
      xdata: m.xdata,
      timestamp: new Date(Date.now() + offsetMs),
      key,
    });
    if (!frame.ok) return { kind: 'none', reason: `cannot encode the message: ${frame.error}` };
    const answer = await exchange(receiver, frame.value, { sequence: m.sequence, account: m.account }, key, ackTimeoutMs);
    if (answer.kind === 'ack') return answer;
    if (answer.kind === 'nak') {
      if (answer.receiverTime) offsetMs = answer.receiverTime.getTime() - Date.now();
      reason = 'NAK';
    } else reason = answer.reason;
  }
  return { kind: 'none', reason };
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
