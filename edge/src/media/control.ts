import { DeviceKind, MediaRefusal, RpcMethod, type DeviceReport, type MediaRefused, type MediaSource } from '@vigil/protocol';
import { BusTopic, WorkerRequests, type BusHub, type WorkerManager, type WorkerSilence } from '../bus.js';
import type { Logger } from '../log.js';
import type { RpcContext, RpcServer } from '../rpc.js';
import type { DeviceAccount, DeviceTarget } from './devices.js';

/** The worker process that runs ffmpeg and talks to the video devices. */
export const MEDIA_WORKER = 'media';
/** The longest the agent waits for the worker, whatever the RPC deadline. */
const MAX_WAIT_MS = 20_000;
/** Time kept back from the RPC deadline to send the reply. */
const REPLY_MARGIN_MS = 300;

/** What the agent puts on the bus for the media worker. */
export interface MediaRequest {
  id: string;
  method: string;
  params: unknown;
  target: DeviceTarget | null;
}

export interface MediaControlOptions {
  hub: BusHub;
  workers: WorkerManager;
  /** The registry's record of a device, by id. */
  device: (deviceId: string) => DeviceReport | undefined;
  /** The box's login on its cameras. */
  account: DeviceAccount;
  log: Logger;
}

const refused = (code: MediaRefusal, message: string): MediaRefused => ({ ok: false, code, message });
const SILENCE: Record<WorkerSilence, string> = {
  'not-running': 'the media worker is not running',
  timeout: 'the media worker did not answer in time',
  exited: 'the media worker stopped while handling the request',
};

/**
 * The agent's side of video: answers the `media.*` RPCs by resolving the source (a camera through the registry
 * and the box's device account, a recorder as the cloud names it) and handing the request to the media worker
 * over the bus, one reply per request id. One place talks to the devices: the worker.
 */
export class MediaControl {
  private readonly requests: WorkerRequests;

  constructor(private readonly opts: MediaControlOptions) {
    this.requests = new WorkerRequests(opts.hub, opts.workers, MEDIA_WORKER, { request: BusTopic.mediaRequest, reply: BusTopic.mediaReply });
  }

  /** The target of a source, or the refusal when the box does not know the device. */
  resolve(source: MediaSource): DeviceTarget | MediaRefused {
    if (source.kind === 'recorder') return { kind: 'recorder', ...source.recorder, channel: source.channel };
    const d = this.opts.device(source.deviceKey);
    if (!d || d.kind !== DeviceKind.camera) return refused(MediaRefusal.deviceNotFound, `the box knows no camera ${source.deviceKey}`);
    if (!d.online) return refused(MediaRefusal.deviceNotFound, `camera ${source.deviceKey} is not on the box's LAN now`);
    return { kind: 'camera', deviceKey: d.deviceId, host: d.host, port: d.port, serial: d.serial, ...this.opts.account };
  }

  register(rpc: RpcServer): void {
    rpc.register(RpcMethod.mediaOpen, async (params, ctx) => {
      const target = this.resolve(params.source);
      if ('ok' in target) return target;
      const result = await this.ask(RpcMethod.mediaOpen, params, target, ctx);
      this.opts.log.info('media.open', { requestId: ctx.requestId, sessionId: params.sessionId, ok: result.ok, code: 'code' in result ? result.code : undefined });
      return result as never;
    });
    rpc.register(RpcMethod.mediaClose, async (params, ctx) => {
      // Without a worker there is no session left to close.
      if (!this.requests.workerReady) return { closed: false };
      const result = (await this.ask(RpcMethod.mediaClose, params, null, ctx)) as { closed?: unknown };
      return { closed: result.closed === true };
    });
    rpc.register(RpcMethod.mediaSnapshot, async (params, ctx) => {
      const target = this.resolve(params.source);
      return ('ok' in target ? target : await this.ask(RpcMethod.mediaSnapshot, params, target, ctx)) as never;
    });
    rpc.register(RpcMethod.mediaPtz, async (params, ctx) => {
      const target = this.resolve(params.source);
      return ('ok' in target ? target : await this.ask(RpcMethod.mediaPtz, params, target, ctx)) as never;
    });
    rpc.register(RpcMethod.mediaRecordings, async (params, ctx) => {
      const target = this.resolve(params.source);
      return ('ok' in target ? target : await this.ask(RpcMethod.mediaRecordings, params, target, ctx)) as never;
    });
  }

  /** Hands one request to the worker and waits for its reply (or a refusal on timeout or when it is not running). */
  private async ask(method: string, params: unknown, target: DeviceTarget | null, ctx: RpcContext): Promise<{ ok?: boolean; code?: string } & Record<string, unknown>> {
    const waitMs = Math.min(MAX_WAIT_MS, ctx.deadline - Date.now() - REPLY_MARGIN_MS);
    const request: Omit<MediaRequest, 'id'> = { method, params, target };
    const answer = await this.requests.ask(request, waitMs);
    if ('result' in answer) return answer.result as { ok?: boolean; code?: string } & Record<string, unknown>;
    return refused(MediaRefusal.failed, SILENCE[answer.silence]);
  }
}
