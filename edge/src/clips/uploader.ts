import { EventEmitter } from 'node:events';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream';
import {
  ClipDropReason,
  ClipPart,
  ClipUploadRefusal,
  ClipUploadRefusalSchema,
  ClipUploadStateSchema,
  decoder,
  FINAL_CLIP_REFUSALS,
  type ClipUploadState,
} from '@vigil/protocol';
import type { Logger } from '../log.js';
import { sha256Of } from './assemble.js';
import { basicAuth, replyMessage, send, throttled, TokenBucket, urlUnder, type HttpReply } from './bandwidth.js';
import type { ClipQueue, QueuedClip } from './queue.js';

export interface UploadTarget {
  /** The base URL of the upload protocol (protocol/src/clips.ts). */
  uploadUrl: string;
  /** The box's MQTT login. */
  serial: string;
  secret: string;
  /** The most all uploads together may send, kilobits per second; null: no limit. */
  limitKbps: number | null;
}

/**
 * One PATCH sends at most this much by default. Each request costs the cloud a sync and an index update, so larger
 * ones upload faster (on loopback, 1 MiB requests reached about half a raw HTTP copy's throughput, 8 MiB about 0.7);
 * a cut request loses nothing, as the cloud keeps what arrived.
 */
const REQUEST_BYTES = 8 * 1024 * 1024;
/** The cloud unreachable: the whole queue waits 1 s, then twice as long each time, up to 30 s. */
const STALL_FIRST_MS = 1_000;
const STALL_MAX_MS = 30_000;

const stateDecoder = decoder(ClipUploadStateSchema);
const refusalDecoder = decoder(ClipUploadRefusalSchema);
const PARTS = [ClipPart.video, ClipPart.thumbnail] as const;

const fileOf = (clip: QueuedClip, part: ClipPart): string => (part === ClipPart.video ? clip.video : clip.thumbnail);

/** The cloud cannot take uploads now (network, 5xx, 401, 429): the whole queue waits, the clip keeps its place. */
class CloudUnavailable extends Error {}
/** The cloud refused the clip for good. */
class ClipRefused extends Error {}
/** The clip's files on disk no longer match its sidecar. */
class ClipDamaged extends Error {}
/** Something about this clip went wrong: it waits its own backoff, the others go on. */
class ClipRetry extends Error {}

/**
 * Uploads the queue's clips to the cloud, oldest first event first, `concurrency` at a time (default 1), each part
 * resumed from the offset the cloud holds. All uploads share one token bucket for the box's upload limit.
 */
export class ClipUploader extends EventEmitter<{ uploaded: [clipId: string, ms: number]; failed: [clipId: string, err: Error] }> {
  private readonly queue: ClipQueue;
  private readonly log: Logger;
  private readonly concurrency: number;
  private readonly requestBytes: number;
  private readonly bucket = new TokenBucket(null);
  private target: UploadTarget | null = null;
  private running = false;
  private workers: Promise<void>[] = [];
  /** Clip id → the abort of its upload in flight. */
  private readonly inFlight = new Map<string, AbortController>();
  private readonly wakers = new Set<() => void>();
  private stallMs = STALL_FIRST_MS;
  private stallUntil = 0;
  private readonly onChanged = (): void => this.wake();
  private readonly onDropped = (report: { clipId?: string }): void => {
    // The queue gave up a clip being uploaded (its quota): the upload stops, the next clip goes.
    if (report.clipId) this.inFlight.get(report.clipId)?.abort();
  };

  constructor(opts: { queue: ClipQueue; log: Logger; concurrency?: number; requestBytes?: number }) {
    super();
    const concurrency = opts.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16) throw new RangeError(`concurrency must be a whole number from 1 to 16, not ${String(concurrency)}`);
    this.queue = opts.queue;
    this.log = opts.log;
    this.concurrency = concurrency;
    this.requestBytes = opts.requestBytes ?? REQUEST_BYTES;
  }

  /**
   * Where uploads go; null pauses them. A new URL or login stops the uploads in flight (they resume with it); a new
   * limit applies at once.
   */
  configure(target: UploadTarget | null): void {
    if (target) {
      urlUnder(target.uploadUrl);
      if (!target.serial || !target.secret) throw new RangeError('the upload target needs the box serial and secret');
    }
    this.bucket.setLimit(target?.limitKbps ?? null);
    const sameCloud = target !== null && this.target !== null && target.uploadUrl === this.target.uploadUrl && target.serial === this.target.serial && target.secret === this.target.secret;
    this.target = target ? { ...target } : null;
    if (!sameCloud) {
      for (const abort of this.inFlight.values()) abort.abort();
      this.stallMs = STALL_FIRST_MS;
      this.stallUntil = 0;
    }
    this.wake();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.queue.on('changed', this.onChanged);
    this.queue.on('dropped', this.onDropped);
    this.workers = Array.from({ length: this.concurrency }, () => this.work());
  }

  /** Stops; an upload in flight is cut and resumes from the cloud's offset next time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const abort of this.inFlight.values()) abort.abort();
    this.wake();
    await Promise.all(this.workers);
    this.workers = [];
    this.queue.off('changed', this.onChanged);
    this.queue.off('dropped', this.onDropped);
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Waits for `ms` (forever when null), or until the queue changes, the target changes or the uploader stops. */
  private sleep(ms: number | null): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer) clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async work(): Promise<void> {
    while (this.running) {
      try {
        const target = this.target;
        const stalled = this.stallUntil - Date.now();
        if (!target) {
          await this.sleep(null);
          continue;
        }
        if (stalled > 0) {
          await this.sleep(stalled);
          continue;
        }
        const busy = new Set(this.inFlight.keys());
        const clip = this.queue.peek(busy);
        if (!clip) {
          await this.sleep(this.queue.msUntilRetry(busy));
          continue;
        }
        const abort = new AbortController();
        this.inFlight.set(clip.clipId, abort);
        try {
          await this.upload(clip, target, abort.signal);
        } finally {
          this.inFlight.delete(clip.clipId);
        }
      } catch (err) {
        this.log.error('clip upload loop failed', { err });
        await this.sleep(STALL_FIRST_MS);
      }
    }
  }

  private async upload(clip: QueuedClip, target: UploadTarget, signal: AbortSignal): Promise<void> {
    const started = Date.now();
    try {
      await this.transfer(clip, target, signal);
    } catch (err) {
      // Stopped, sent elsewhere or dropped by the queue: nothing to mark, it resumes next time or is gone.
      if (signal.aborted) return;
      const error = err instanceof Error ? err : new Error(String(err));
      this.emit('failed', clip.clipId, error);
      if (err instanceof ClipRefused) await this.queue.drop(clip.clipId, ClipDropReason.refused, error.message);
      else if (err instanceof ClipDamaged) await this.queue.drop(clip.clipId, ClipDropReason.recordingFailed, error.message);
      else if (err instanceof CloudUnavailable) this.stall(error);
      else await this.queue.retryLater(clip.clipId, error.message);
      return;
    }
    // The cloud has it whole, even if the upload was being stopped as it finished.
    const ms = Date.now() - started;
    await this.queue.done(clip.clipId);
    this.log.info('clip uploaded', { clipId: clip.clipId, bytes: clip.bytes, ms });
    this.emit('uploaded', clip.clipId, ms);
  }

  private stall(err: Error): void {
    this.stallUntil = Date.now() + this.stallMs;
    // Said once per outage; the retries of a cloud down for hours are not worth a line each.
    const fields = { error: err.message, inMs: this.stallMs };
    if (this.stallMs === STALL_FIRST_MS) this.log.warn('the cloud takes no clip uploads now: the queue waits', fields);
    else this.log.debug('the cloud still takes no clip uploads', fields);
    this.stallMs = Math.min(STALL_MAX_MS, this.stallMs * 2);
  }

  /** Creates (or finds) the upload, then sends each part from the cloud's offset to its end. */
  private async transfer(clip: QueuedClip, target: UploadTarget, signal: AbortSignal): Promise<void> {
    await this.checkFileSizes(clip);
    const headers = { authorization: basicAuth(target.serial, target.secret) };
    const body = Buffer.from(JSON.stringify(clip.upload));
    const created = await this.request(clip, { method: 'POST', url: urlUnder(target.uploadUrl), headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length }, body, signal });
    if (created.status !== 200 && created.status !== 201) throw this.refusal(created);
    this.stallMs = STALL_FIRST_MS;
    let state = this.stateOf(clip, created);
    let mismatches = 0;
    for (const part of PARTS) {
      const bytes = clip.upload[part].bytes;
      // Each round either moves the offset on or takes the cloud's; a cloud that does neither is not followed forever.
      for (let rounds = 0; state[part].offset < bytes; rounds++) {
        if (rounds > Math.ceil(bytes / this.requestBytes) * 4 + 8) throw new ClipRetry(`the cloud's offset of the ${part} does not move on`);
        const offset = state[part].offset;
        const reply = await this.patch(clip, part, offset, Math.min(this.requestBytes, bytes - offset), target, signal);
        if (reply.status === 200) {
          const next = this.stateOf(clip, reply);
          if (next[part].offset <= offset) throw new ClipRetry(`the cloud took none of the ${part}'s bytes from offset ${offset}`);
          state = next;
          continue;
        }
        const refusal = this.refusalOf(reply);
        if (reply.status === 409 && refusal?.code === ClipUploadRefusal.offsetMismatch && refusal.state) {
          state = this.checkedState(clip, refusal.state);
          continue;
        }
        if (refusal?.code === ClipUploadRefusal.checksumMismatch) {
          mismatches += 1;
          if (mismatches >= 2) {
            await this.verifyFiles(clip);
            throw new ClipRetry(`the cloud found the ${part} damaged twice, though the files on disk match their sha256`);
          }
          this.log.warn('the cloud found a clip part damaged: sending it again', { clipId: clip.clipId, part });
          state = refusal.state ? this.checkedState(clip, refusal.state) : { ...state, [part]: { ...state[part], offset: 0 } };
          continue;
        }
        throw this.refusal(reply);
      }
    }
    if (!state.complete) throw new ClipRetry('the cloud has both parts but does not say the clip is complete');
  }

  /** One PATCH of `length` bytes of the part from `offset`, streamed from the file through the box's bucket. */
  private async patch(clip: QueuedClip, part: ClipPart, offset: number, length: number, target: UploadTarget, signal: AbortSignal): Promise<HttpReply> {
    let readError: Error | null = null;
    const source = createReadStream(fileOf(clip, part), { start: offset, end: offset + length - 1 });
    source.on('error', (err) => {
      readError = err;
    });
    const body = pipeline(source, throttled(this.bucket, signal), () => undefined);
    try {
      return await this.request(clip, {
        method: 'PATCH',
        url: urlUnder(target.uploadUrl, clip.clipId, part),
        headers: { authorization: basicAuth(target.serial, target.secret), 'upload-offset': offset, 'content-type': 'application/offset+octet-stream', 'content-length': length },
        body,
        signal,
      });
    } catch (err) {
      if (readError && !signal.aborted) {
        await this.checkFileSizes(clip);
        throw new ClipRetry(`reading the ${part} failed: ${(readError as Error).message}`);
      }
      throw err;
    }
  }

  /** A request whose network failure means the cloud is unreachable. */
  private async request(clip: QueuedClip, opts: Parameters<typeof send>[0]): Promise<HttpReply> {
    try {
      return await send(opts);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new CloudUnavailable(`uploading clip ${clip.clipId}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private stateOf(clip: QueuedClip, reply: HttpReply): ClipUploadState {
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(reply.body);
    } catch {
      // Reported as not a state below.
    }
    const state = stateDecoder.decode(parsed);
    if (!state.ok) throw new ClipRetry(`the cloud's reply (${reply.status}) is not an upload state: ${state.error}`);
    return this.checkedState(clip, state.value);
  }

  /** The cloud's state must be of this clip and its sizes, with offsets inside the parts. */
  private checkedState(clip: QueuedClip, state: ClipUploadState): ClipUploadState {
    if (state.clipId !== clip.clipId) throw new ClipRetry(`the cloud answered with the state of clip ${state.clipId}`);
    for (const part of PARTS) {
      const { offset, bytes } = state[part];
      if (bytes !== clip.upload[part].bytes || offset > bytes) throw new ClipRetry(`the cloud's ${part} state (${offset} of ${bytes} bytes) does not fit the clip (${clip.upload[part].bytes} bytes)`);
    }
    return state;
  }

  private refusalOf(reply: HttpReply): { code: string; message: string; state?: ClipUploadState } | null {
    try {
      const refusal = refusalDecoder.decode(JSON.parse(reply.body));
      return refusal.ok ? refusal.value : null;
    } catch {
      return null;
    }
  }

  /** What a reply other than success means for the clip. */
  private refusal(reply: HttpReply): Error {
    const what = `the cloud answered ${reply.status}: ${replyMessage(reply)}`;
    if (reply.status === 401 || reply.status === 408 || reply.status === 429 || reply.status >= 500) return new CloudUnavailable(what);
    const refusal = this.refusalOf(reply);
    if (refusal && (FINAL_CLIP_REFUSALS as readonly string[]).includes(refusal.code)) return new ClipRefused(`${refusal.code}: ${refusal.message}`.slice(0, 1024));
    return new ClipRetry(what);
  }

  /** The files must still be the sizes the sidecar gave. */
  private async checkFileSizes(clip: QueuedClip): Promise<void> {
    for (const part of PARTS) {
      const file = fileOf(clip, part);
      const size = await stat(file).then(
        (s) => s.size,
        () => null,
      );
      if (size === null) throw new ClipDamaged(`the ${part} of the clip is gone from the disk`);
      if (size !== clip.upload[part].bytes) throw new ClipDamaged(`the ${part} of the clip is ${size} bytes on disk, ${clip.upload[part].bytes} when it was recorded`);
    }
  }

  /** The files must still hash to what the sidecar gave. */
  private async verifyFiles(clip: QueuedClip): Promise<void> {
    await this.checkFileSizes(clip);
    for (const part of PARTS) {
      const sha256 = await sha256Of(fileOf(clip, part));
      if (sha256 !== clip.upload[part].sha256) throw new ClipDamaged(`the ${part} on disk no longer matches the sha256 it was recorded with`);
    }
  }
}
