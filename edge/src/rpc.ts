import {
  decoder,
  RpcErrorCode,
  RpcSchemas,
  type Decoder,
  type RpcMethod,
  type RpcParams,
  type RpcReplyData,
  type RpcResult,
} from '@vigil/protocol';
import type { Logger } from './log.js';
import type { CommandMessage } from './uplink.js';

export interface RpcContext {
  requestId: string;
  method: string;
  /** Epoch ms by which the cloud expects the reply. */
  deadline: number;
  /** Runs `fn` once the reply has been acknowledged by the broker (or could not be sent). */
  afterReply(fn: (sent: boolean) => Promise<void> | void): void;
}

export type RpcHandler<M extends RpcMethod> = (params: RpcParams<M>, ctx: RpcContext) => Promise<RpcResult<M>>;

export class RpcFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Registered {
  params: Decoder<(typeof RpcSchemas)[RpcMethod]['params']>;
  run: (params: unknown, ctx: RpcContext) => Promise<unknown>;
}

const MAX_REMEMBERED = 2048;

/**
 * Runs the commands the cloud sends. Each request id is handled once (QoS 1 may deliver it twice);
 * expired requests are refused without running.
 */
export class RpcServer {
  private readonly handlers = new Map<string, Registered>();
  private readonly seen = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly sendReply: (requestId: string, reply: RpcReplyData) => Promise<void>,
    private readonly now: () => number = Date.now,
  ) {}

  register<M extends RpcMethod>(method: M, handler: RpcHandler<M>): void {
    this.handlers.set(method, {
      params: decoder(RpcSchemas[method].params),
      run: (params, ctx) => handler(params as RpcParams<M>, ctx),
    });
  }

  /** Resolves once the reply is acknowledged and any after-reply work is done. */
  async handle(msg: CommandMessage): Promise<void> {
    const requestId = msg.envelope.id;
    const method = msg.topic.method;
    if (this.seen.has(requestId)) {
      this.log.info('duplicate request ignored', { requestId, method });
      return;
    }
    this.remember(requestId);
    const after: ((sent: boolean) => Promise<void> | void)[] = [];
    const ctx: RpcContext = { requestId, method, deadline: msg.envelope.data.deadline, afterReply: (fn) => after.push(fn) };
    const reply = await this.run(msg, ctx);
    if (!reply.ok) this.log.info('request refused', { requestId, method, code: reply.error.code });
    let sent = true;
    try {
      await this.sendReply(requestId, reply);
    } catch (err) {
      sent = false;
      this.log.warn('reply not sent', { requestId, method, err });
    }
    for (const fn of after) await fn(sent);
  }

  private async run(msg: CommandMessage, ctx: RpcContext): Promise<RpcReplyData> {
    const { deadline, params } = msg.envelope.data;
    if (deadline < this.now()) {
      return error(RpcErrorCode.deadlinePassed, `deadline ${new Date(deadline).toISOString()} has passed`);
    }
    const h = this.handlers.get(ctx.method);
    if (!h) return error(RpcErrorCode.unknownMethod, `unknown method ${JSON.stringify(ctx.method)}`);
    const checked = h.params.decode(params);
    if (!checked.ok) return error(RpcErrorCode.badParams, `params ${checked.error}`);
    try {
      return { ok: true, result: await h.run(checked.value, ctx) };
    } catch (err) {
      if (err instanceof RpcFailure) return error(err.code, err.message);
      this.log.error('handler failed', { method: ctx.method, err });
      return error(RpcErrorCode.failed, err instanceof Error ? err.message.slice(0, 2048) : 'handler failed');
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > MAX_REMEMBERED) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

const error = (code: string, message: string): RpcReplyData => ({ ok: false, error: { code, message } });
