import { randomUUID } from 'node:crypto';
import { decoder, encodeEnvelope, envelope, P2pIsapiRequestSchema, topics, type P2pIsapiReplyData, type P2pIsapiRequestData } from '@vigil/protocol';
import { ErrorCode } from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';

/** What the cloud asks a P2P device; the deadline follows from the timeout. */
export type IsapiRequest = Omit<P2pIsapiRequestData, 'deadline'>;
export type IsapiAnswer = P2pIsapiReplyData;

export type IsapiOutcome = 'answered' | 'timeout' | 'gone' | 'unsent';

interface Pending {
  serial: string;
  resolve: (answer: IsapiAnswer) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

const requestDecoder = decoder(P2pIsapiRequestSchema);

/**
 * ISAPI requests to P2P devices waiting for their answers, the way RPC to edge boxes waits: the envelope id is the
 * request id, the request carries its deadline, and each request is settled once — by the answer of the device it
 * was sent to, by its timeout (504), or by that device going away.
 */
export class PendingIsapi {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly publish: (topic: string, payload: Uint8Array) => Promise<void>,
    private readonly counted: (outcome: IsapiOutcome) => void,
  ) {}

  /** Publishes `request` to the device and waits at most `timeoutMs` for its answer. Throws a TypeError on a malformed request. */
  send(serial: string, request: IsapiRequest, timeoutMs: number): Promise<IsapiAnswer> {
    const data = { ...request, deadline: Date.now() + timeoutMs };
    const checked = requestDecoder.decode(data);
    if (!checked.ok) throw new TypeError(`not an ISAPI request to send: ${checked.error}`);
    const requestId = randomUUID();
    const answer = new Promise<IsapiAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(requestId, 'timeout', new AppError(504, ErrorCode.rpcTimeout, `The device ${serial} did not answer ${request.method} ${request.path} within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(requestId, { serial, resolve, reject, timer });
    });
    this.publish(topics.p2pIsapi(serial), encodeEnvelope(envelope('p2pIsapi', checked.value, { id: requestId }))).catch((err: unknown) =>
      this.settle(requestId, 'unsent', err instanceof Error ? err : new Error(String(err))),
    );
    return answer;
  }

  /** Settles a request with its answer; false when no request of that device waits under that id. */
  answered(serial: string, requestId: string, answer: IsapiAnswer): boolean {
    if (this.pending.get(requestId)?.serial !== serial) return false;
    this.settle(requestId, 'answered', { value: answer });
    return true;
  }

  /** Fails every request still waiting for `serial`, or for any device when it is null. */
  abandon(serial: string | null, error: () => Error): void {
    for (const [id, p] of this.pending) if (serial === null || p.serial === serial) this.settle(id, 'gone', error());
  }

  private settle(requestId: string, outcome: IsapiOutcome, result: Error | { value: IsapiAnswer }): void {
    const p = this.pending.get(requestId);
    if (!p) return;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    this.counted(outcome);
    if (result instanceof Error) p.reject(result);
    else p.resolve(result.value);
  }
}
