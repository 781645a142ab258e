import { randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { pipeline, Readable, Transform } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { BandwidthProbeReplySchema, decoder, type ClipsBandwidthTestResult } from '@vigil/protocol';

/** Tokens saved up while idle: a fifth of a second's worth, so a pause is not followed by a long burst. */
const BURST_SECONDS = 0.2;
/** No byte either way for this long: the request is given up. */
const IDLE_MS = 60_000;
/** Replies are small JSON documents; anything longer is cut. */
const REPLY_LIMIT = 64 * 1024;
const PROBE_CHUNK_BYTES = 64 * 1024;
const PROBE_FIRST_BYTES = 64 * 1024;
const PROBE_MAX_BYTES = 32 * 1024 * 1024;
const PROBE_GROW_BELOW_MS = 250;

const probeReply = decoder(BandwidthProbeReplySchema);

/**
 * Keeps the average rate of everything sent through it under a limit (kilobits per second); with no limit it lets
 * everything through at once. One bucket is shared by all uploads of the box, and waiters are served in turn.
 */
export class TokenBucket {
  private bytesPerSecond: number | null = null;
  private tokens = 0;
  private last = performance.now();
  private turn: Promise<void> = Promise.resolve();

  constructor(limitKbps: number | null = null) {
    this.setLimit(limitKbps);
  }

  get limitKbps(): number | null {
    return this.bytesPerSecond === null ? null : this.bytesPerSecond / 125;
  }

  setLimit(limitKbps: number | null): void {
    if (limitKbps !== null && !(Number.isFinite(limitKbps) && limitKbps > 0)) throw new RangeError(`the upload limit must be a positive number of kbps or null, not ${String(limitKbps)}`);
    this.refill();
    this.bytesPerSecond = limitKbps === null ? null : limitKbps * 125;
    this.tokens = Math.min(this.tokens, this.burst);
  }

  /** The most worth sending in one write: about a twentieth of a second's worth, so the rate stays smooth. */
  get pieceBytes(): number {
    return this.bytesPerSecond === null ? 64 * 1024 : Math.min(64 * 1024, Math.max(512, Math.floor(this.bytesPerSecond / 20)));
  }

  /** Resolves once `bytes` may be sent; rejects when `signal` aborts first. */
  take(bytes: number, signal?: AbortSignal): Promise<void> {
    const mine = this.turn.then(() => this.waitFor(bytes, signal));
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private get burst(): number {
    return this.bytesPerSecond === null ? 0 : this.bytesPerSecond * BURST_SECONDS;
  }

  private refill(): void {
    const now = performance.now();
    if (this.bytesPerSecond !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }

  private async waitFor(bytes: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.bytesPerSecond === null) return;
    this.refill();
    // Taken before waiting: the debt is what makes the next sender wait its turn too.
    this.tokens -= bytes;
    if (this.tokens < 0) await delay((-this.tokens / this.bytesPerSecond) * 1000, undefined, signal ? { signal } : {});
  }
}

/** A stream that passes its bytes on no faster than the bucket allows, in small pieces. */
export function throttled(bucket: TokenBucket, signal?: AbortSignal): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const pass = async (): Promise<void> => {
        for (let at = 0; at < chunk.length; ) {
          const piece = chunk.subarray(at, at + bucket.pieceBytes);
          await bucket.take(piece.length, signal);
          this.push(piece);
          at += piece.length;
        }
      };
      pass().then(() => callback(), (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
    },
  });
}

export const basicAuth = (serial: string, secret: string): string => `Basic ${Buffer.from(`${serial}:${secret}`).toString('base64')}`;

/** `{base}/{path}` with the base's trailing slashes ignored. */
export function urlUnder(base: string, ...segments: string[]): URL {
  const url = new URL(base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError(`the upload URL must be http or https, not ${url.protocol}`);
  url.pathname = [url.pathname.replace(/\/+$/, ''), ...segments.map(encodeURIComponent)].join('/');
  return url;
}

export interface HttpReply {
  status: number;
  body: string;
}

/**
 * One HTTP(S) request with its body from a buffer or a stream; resolves with the reply (its body read up to a
 * limit), rejects on a network error, an abort, a stalled connection or an error of the body stream.
 */
export function send(opts: { method: string; url: URL; headers: Record<string, string | number>; body?: Buffer | Readable; signal?: AbortSignal; idleMs?: number }): Promise<HttpReply> {
  const idleMs = opts.idleMs ?? IDLE_MS;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | null, reply?: HttpReply): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(reply!);
    };
    const request = opts.url.protocol === 'https:' ? https.request : http.request;
    const req = request(opts.url, { method: opts.method, headers: opts.headers, timeout: idleMs, ...(opts.signal ? { signal: opts.signal } : {}) });
    req.on('timeout', () => req.destroy(new Error(`no progress for ${idleMs / 1000} s`)));
    req.on('error', (err) => settle(err));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= REPLY_LIMIT) chunks.push(chunk);
      });
      res.on('error', (err) => settle(err));
      res.on('end', () => {
        settle(null, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        // A reply before the whole body went (a refusal): the rest is not wanted.
        if (!req.writableFinished) req.destroy();
      });
    });
    const body = opts.body;
    if (body === undefined || Buffer.isBuffer(body)) req.end(body);
    else pipeline(body, req, (err) => err && settle(err));
  });
}

/** The refusal or error message in a JSON reply body, or the body's start. */
export function replyMessage(reply: HttpReply): string {
  try {
    const parsed = JSON.parse(reply.body) as { code?: unknown; message?: unknown };
    const parts = [parsed.code, parsed.message].filter((p): p is string => typeof p === 'string');
    if (parts.length > 0) return parts.join(': ');
  } catch {
    // Not JSON: the text itself says what went wrong.
  }
  return reply.body.slice(0, 200);
}

/**
 * The uplink bandwidth test (manual §5.3.3): random (incompressible) bytes are posted to `{uploadUrl}/bandwidth-test`
 * for about `seconds`, in requests one after the other that double in size while each takes under a quarter
 * second: the socket's buffers never hold more than one request, so a slow uplink ends the test on time instead
 * of draining seconds of buffered bytes. The rate comes from what the cloud says it received and in how long, or
 * from the box's own count and clock when a reply does not say. Never throws: a failure is `{ ok: false, message }`.
 */
export async function runBandwidthTest(opts: { uploadUrl: string; serial: string; secret: string; seconds: number }): Promise<ClipsBandwidthTestResult> {
  const failed = (message: string): ClipsBandwidthTestResult => ({ ok: false, message: message.slice(0, 1024) });
  if (!Number.isInteger(opts.seconds) || opts.seconds < 1 || opts.seconds > 30) return failed(`the test lasts 1 to 30 whole seconds, not ${String(opts.seconds)}`);
  let url: URL;
  try {
    url = urlUnder(opts.uploadUrl, 'bandwidth-test');
  } catch (err) {
    return failed(`the upload URL ${opts.uploadUrl} is not usable: ${err instanceof Error ? err.message : String(err)}`);
  }
  const deadline = performance.now() + opts.seconds * 1000;
  let size = PROBE_FIRST_BYTES;
  let bytes = 0;
  let ms = 0;
  try {
    while (performance.now() < deadline) {
      const started = performance.now();
      const reply = await send({
        method: 'POST',
        url,
        headers: { authorization: basicAuth(opts.serial, opts.secret), 'content-type': 'application/octet-stream', 'content-length': size },
        body: randomBody(size),
        idleMs: 30_000,
      });
      const took = performance.now() - started;
      if (reply.status !== 200) return failed(`the cloud answered ${reply.status} to the bandwidth test: ${replyMessage(reply)}`);
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(reply.body);
      } catch {
        // Falls back on the box's own count below.
      }
      const probe = probeReply.decode(parsed);
      const measured = probe.ok && probe.value.ms > 0 ? probe.value : { bytes: size, ms: took };
      bytes += measured.bytes;
      ms += measured.ms;
      if (took < PROBE_GROW_BELOW_MS) size = Math.min(PROBE_MAX_BYTES, size * 2);
    }
  } catch (err) {
    return failed(`the bandwidth test to ${url.origin} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const wholeMs = Math.max(1, Math.round(ms));
  return { ok: true, uploadKbps: Math.round((bytes * 8) / wholeMs), bytes, ms: wholeMs };
}

/** `size` random bytes, made as they are read. */
function randomBody(size: number): Readable {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const chunk = randomBytes(Math.min(PROBE_CHUNK_BYTES, left));
      left -= chunk.length;
      this.push(chunk);
    },
  });
}
