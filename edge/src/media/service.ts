import {
  decoder,
  MediaCloseParamsSchema,
  MediaOpenParamsSchema,
  MediaPtzParamsSchema,
  MediaRecordingsParamsSchema,
  MediaRefusal,
  MediaSnapshotParamsSchema,
  RpcMethod,
} from '@vigil/protocol';
import type { Logger } from '../log.js';
import type { MediaRequest } from './control.js';
import { VideoDevices, type DeviceTarget } from './devices.js';
import { MediaError, refusal } from './errors.js';
import { MediaSessions } from './sessions.js';

const decoders = {
  open: decoder(MediaOpenParamsSchema),
  close: decoder(MediaCloseParamsSchema),
  snapshot: decoder(MediaSnapshotParamsSchema),
  ptz: decoder(MediaPtzParamsSchema),
  recordings: decoder(MediaRecordingsParamsSchema),
};

function decode<T>(d: { decode(v: unknown): { ok: true; value: T } | { ok: false; error: string } }, v: unknown): T {
  const r = d.decode(v);
  if (!r.ok) throw new MediaError(MediaRefusal.failed, `bad params: ${r.error}`);
  return r.value;
}

/** The media worker's answers to the agent's requests: sessions, snapshots, PTZ and recordings. */
export class MediaService {
  readonly sessions: MediaSessions;
  private readonly devices = new VideoDevices();

  constructor(private readonly opts: { log: Logger; maxPipelines?: number; ffmpegPath?: string }) {
    this.sessions = new MediaSessions({
      log: opts.log,
      ...(opts.maxPipelines === undefined ? {} : { maxPipelines: opts.maxPipelines }),
      ...(opts.ffmpegPath === undefined ? {} : { ffmpegPath: opts.ffmpegPath }),
    });
  }

  /** The result for the agent; refusals are results too, never thrown. */
  async handle(req: MediaRequest): Promise<unknown> {
    try {
      if (req.method === RpcMethod.mediaClose) return { closed: this.sessions.close(decode(decoders.close, req.params).sessionId) };
      const target = req.target;
      if (!target) throw new MediaError(MediaRefusal.deviceNotFound, 'no device named');
      const device = this.devices.for(target as DeviceTarget);
      switch (req.method) {
        case RpcMethod.mediaOpen: {
          const opened = await this.sessions.open(decode(decoders.open, req.params), device);
          // The camera's services were read to open it: whether it has PTZ costs nothing more.
          return opened.ok ? { ...opened, ptz: await device.hasPtz().catch(() => false) } : opened;
        }
        case RpcMethod.mediaSnapshot: {
          const p = decode(decoders.snapshot, req.params);
          const jpeg = await device.snapshot(p.stream, p.verificationCode);
          return { ok: true, jpegBase64: jpeg.toString('base64'), at: new Date().toISOString() };
        }
        case RpcMethod.mediaPtz: {
          const p = decode(decoders.ptz, req.params);
          return { ok: true, ...(await device.ptz(p.action)) };
        }
        case RpcMethod.mediaRecordings: {
          const p = decode(decoders.recordings, req.params);
          const from = Date.parse(p.from);
          const to = Date.parse(p.to);
          if (!(to > from)) throw new MediaError(MediaRefusal.failed, 'the range ends before it starts');
          return { ok: true, ...(await device.recordings(from, to)) };
        }
        default:
          throw new MediaError(MediaRefusal.failed, `unknown media request ${req.method}`);
      }
    } catch (err) {
      if (!(err instanceof MediaError)) this.opts.log.error('media request failed', { method: req.method, err });
      return refusal(err);
    }
  }
}
