import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import {
  ClipPart,
  ClipUploadCreateSchema,
  ClipUploadRefusal,
  decoder,
  type ClipEventType,
  type ClipUploadCreate,
  type ClipUploadState,
} from '@vigil/protocol';
import type { ClipFiles } from '../recorder.js';
import type { ClipRecordWithEvents } from '../queue.js';

const createDecoder = decoder(ClipUploadCreateSchema);
const BASE_PATH = '/api/v1/edge/clips';

interface ServerClip {
  create: ClipUploadCreate;
  parts: Record<ClipPart, Buffer>;
  complete: boolean;
}

/** One PATCH as the server saw it. */
export interface PatchSeen {
  clipId: string;
  part: ClipPart;
  offset: number;
  /** Body bytes kept from it. */
  received: number;
  /** The reply's status; 0 when the connection was cut. */
  status: number;
}

/**
 * The cloud end of the clip upload protocol (protocol/src/clips.ts) on 127.0.0.1, in memory, with controls for
 * tests: cut the next PATCH after some bytes, refuse with a code, fail the checksum, go down and come back, read
 * slowly. A cut connection keeps the bytes that arrived, as the cloud does.
 */
export class UploadTestServer {
  readonly clips = new Map<string, ServerClip>();
  /** Clip ids in the order they became complete. */
  readonly completed: string[] = [];
  readonly patches: PatchSeen[] = [];
  /** Clip ids of the create requests, in order. */
  readonly creates: string[] = [];
  /** The bandwidth probes: bytes received and the time from the request to its end. */
  readonly probes: { bytes: number; ms: number }[] = [];
  private cutAfter: number | null = null;
  private refusal: { status: number; code: string } | null = null;
  private corruptions = 0;
  private bytesPerSecond: number | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly server: http.Server;
  private port = 0;

  private constructor(
    private readonly serial: string,
    private readonly secret: string,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.reply(res, 500, { code: 'INTERNAL', message: String(err) });
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(opts: { serial: string; secret: string }): Promise<UploadTestServer> {
    const server = new UploadTestServer(opts.serial, opts.secret);
    await server.up();
    return server;
  }

  /** The `uploadUrl` of `clips.configure`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}${BASE_PATH}`;
  }

  /** The next PATCH is cut (its connection destroyed) once this many of its body bytes have arrived. */
  cutNextPatchAfter(bytes: number): void {
    this.cutAfter = bytes;
  }

  /** Every create and PATCH is refused with this status and code until `refuse(null)`. */
  refuse(refusal: { status: number; code: string } | null): void {
    this.refusal = refusal;
  }

  /** The next `count` parts made whole fail their checksum (as if damaged on the way). */
  corruptNextParts(count: number): void {
    this.corruptions = count;
  }

  /** Request bodies are read at most this fast; null: as fast as they come. */
  slow(bytesPerSecond: number | null): void {
    this.bytesPerSecond = bytesPerSecond;
  }

  /** The bytes of a part received so far. */
  part(clipId: string, part: ClipPart): Buffer {
    return this.clips.get(clipId)?.parts[part] ?? Buffer.alloc(0);
  }

  /** Closes the listener and every connection: requests fail as with a cloud that is down. */
  async down(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again, on the same port once it had one. */
  async up(): Promise<void> {
    if (this.server.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return this.down();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.startsWith(BASE_PATH)) return this.reply(res, 404, { code: 'NOT_FOUND', message: 'no such route' });
    const rest = url.pathname.slice(BASE_PATH.length).split('/').filter(Boolean);
    if (req.headers.authorization !== `Basic ${Buffer.from(`${this.serial}:${this.secret}`).toString('base64')}`) {
      req.resume();
      return this.reply(res, 401, { code: 'UNAUTHORIZED', message: 'the box login is wrong' });
    }
    if (req.method === 'POST' && rest.length === 1 && rest[0] === 'bandwidth-test') return this.probe(req, res);
    if (this.refusal) {
      req.resume();
      return this.reply(res, this.refusal.status, { code: this.refusal.code, message: `refused by the test server with ${this.refusal.code}` });
    }
    if (req.method === 'POST' && rest.length === 0) return this.create(req, res);
    if (req.method === 'GET' && rest.length === 1) {
      const clip = this.clips.get(rest[0]!);
      return clip ? this.reply(res, 200, stateOf(clip)) : this.reply(res, 404, { code: 'NOT_FOUND', message: 'no such upload' });
    }
    if (req.method === 'PATCH' && rest.length === 2) return this.patch(req, res, rest[0]!, rest[1]!);
    req.resume();
    return this.reply(res, 404, { code: 'NOT_FOUND', message: 'no such route' });
  }

  private async create(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse((await this.read(req, 64 * 1024)).toString('utf8'));
    } catch (err) {
      return this.reply(res, 400, { code: ClipUploadRefusal.invalid, message: `not JSON: ${String(err)}` });
    }
    const checked = createDecoder.decode(body);
    if (!checked.ok) return this.reply(res, 400, { code: ClipUploadRefusal.invalid, message: checked.error });
    const create = checked.value;
    this.creates.push(create.clipId);
    const known = this.clips.get(create.clipId);
    if (known) {
      if (JSON.stringify(known.create) !== JSON.stringify(create)) return this.reply(res, 409, { code: ClipUploadRefusal.conflict, message: 'a different clip has this id' });
      return this.reply(res, 200, stateOf(known));
    }
    const clip: ServerClip = { create, parts: { video: Buffer.alloc(0), thumbnail: Buffer.alloc(0) }, complete: false };
    this.clips.set(create.clipId, clip);
    return this.reply(res, 201, stateOf(clip));
  }

  private async patch(req: http.IncomingMessage, res: http.ServerResponse, clipId: string, partName: string): Promise<void> {
    const clip = this.clips.get(clipId);
    if (!clip || (partName !== ClipPart.video && partName !== ClipPart.thumbnail)) {
      req.resume();
      return this.reply(res, 404, { code: 'NOT_FOUND', message: 'no such upload' });
    }
    const part = partName as ClipPart;
    const offset = Number(req.headers['upload-offset']);
    if (req.headers['content-type'] !== 'application/offset+octet-stream' || !Number.isInteger(offset)) {
      req.resume();
      return this.reply(res, 400, { code: ClipUploadRefusal.invalid, message: 'Upload-Offset and Content-Type application/offset+octet-stream are needed' });
    }
    const seen: PatchSeen = { clipId, part, offset, received: 0, status: 0 };
    this.patches.push(seen);
    if (offset !== clip.parts[part].length) {
      req.resume();
      seen.status = 409;
      return this.reply(res, 409, { code: ClipUploadRefusal.offsetMismatch, message: `the ${part} is at ${clip.parts[part].length}`, state: stateOf(clip) });
    }
    const size = clip.create[part].bytes;
    const cutAt = this.cutAfter;
    this.cutAfter = null;
    let overflow = false;
    const cut = await this.consume(req, (chunk) => {
      let take = chunk;
      if (cutAt !== null) take = take.subarray(0, Math.max(0, cutAt - seen.received));
      const room = size - clip.parts[part].length;
      if (take.length > room) {
        overflow = true;
        take = take.subarray(0, room);
      }
      clip.parts[part] = Buffer.concat([clip.parts[part], take]);
      seen.received += take.length;
      if (cutAt !== null && seen.received >= cutAt) {
        req.socket.destroy();
        return false;
      }
      return true;
    });
    if (cut) return;
    if (overflow) {
      seen.status = 400;
      return this.reply(res, 400, { code: ClipUploadRefusal.invalid, message: `the body goes past the ${part}'s ${size} bytes` });
    }
    if (clip.parts[part].length === size) {
      const sha256 = createHash('sha256').update(clip.parts[part]).digest('hex');
      const corrupt = this.corruptions > 0;
      if (corrupt) this.corruptions -= 1;
      if (corrupt || sha256 !== clip.create[part].sha256) {
        clip.parts[part] = Buffer.alloc(0);
        seen.status = 422;
        return this.reply(res, 422, { code: ClipUploadRefusal.checksumMismatch, message: `the ${part} does not match its sha256`, state: stateOf(clip) });
      }
      if (!clip.complete && clip.parts.video.length === clip.create.video.bytes && clip.parts.thumbnail.length === clip.create.thumbnail.bytes) {
        clip.complete = true;
        this.completed.push(clipId);
      }
    }
    seen.status = 200;
    return this.reply(res, 200, stateOf(clip));
  }

  private async probe(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = Date.now();
    let bytes = 0;
    const cut = await this.consume(req, (chunk) => {
      bytes += chunk.length;
      return true;
    });
    if (cut) return;
    const ms = Math.max(1, Date.now() - started);
    this.probes.push({ bytes, ms });
    return this.reply(res, 200, { bytes, ms });
  }

  /**
   * Feeds the body to `take` chunk by chunk, as slowly as `slow` says; `take` returns false to stop. Resolves true
   * when the body did not arrive whole (the connection was cut).
   */
  private consume(req: http.IncomingMessage, take: (chunk: Buffer) => boolean): Promise<boolean> {
    return new Promise((resolve) => {
      let stopped = false;
      req.on('data', (chunk: Buffer) => {
        if (stopped) return;
        if (!take(chunk)) {
          stopped = true;
          resolve(true);
          return;
        }
        if (this.bytesPerSecond !== null) {
          req.pause();
          setTimeout(() => req.resume(), (chunk.length / this.bytesPerSecond) * 1000);
        }
      });
      req.on('end', () => resolve(stopped));
      req.on('close', () => resolve(true));
    });
  }

  private read(req: http.IncomingMessage, limit: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= limit) chunks.push(c);
      });
      req.on('end', () => (size > limit ? reject(new Error('body too large')) : resolve(Buffer.concat(chunks))));
      req.on('error', reject);
    });
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.destroyed) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

const stateOf = (clip: ServerClip): ClipUploadState => ({
  clipId: clip.create.clipId,
  video: { offset: clip.parts.video.length, bytes: clip.create.video.bytes },
  thumbnail: { offset: clip.parts.thumbnail.length, bytes: clip.create.thumbnail.bytes },
  complete: clip.complete,
});

export const TEST_DEVICE_ID = '5b0c2a4e-8d1f-4c3b-9a6e-2f7d1e0c9b8a';
export const TEST_CHANNEL_KEY = `${TEST_DEVICE_ID}:1`;

/**
 * Writes a clip into `dir` as the recorder does (MP4-ish bytes with an `ftyp` box, a JPEG, the sidecar with the
 * video's sha256; temporaries renamed into place, the sidecar last) and returns its record and files.
 */
export async function writeTestClip(
  dir: string,
  opts: { eventAt: number; videoBytes?: number; thumbnailBytes?: number; channelKey?: string; clipId?: string; type?: ClipEventType; name?: string },
): Promise<{ record: ClipRecordWithEvents; files: ClipFiles }> {
  const clipId = opts.clipId ?? randomUUID();
  const name = opts.name ?? `clip-${opts.eventAt}-${clipId.slice(0, 8)}`;
  const ftyp = Buffer.from([0, 0, 0, 0x18, ...Buffer.from('ftypisom'), 0, 0, 2, 0, ...Buffer.from('isomiso2')]);
  const video = Buffer.concat([ftyp, randomBytes((opts.videoBytes ?? 300_000) - ftyp.length)]);
  const thumbnail = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), randomBytes((opts.thumbnailBytes ?? 20_000) - 6), Buffer.from([0xff, 0xd9])]);
  const files: ClipFiles = { video: path.join(dir, `${name}.mp4`), thumbnail: path.join(dir, `${name}.jpg`), sidecar: path.join(dir, `${name}.json`) };
  const record = {
    channelId: opts.channelKey ?? TEST_CHANNEL_KEY,
    clipId,
    events: [{ type: opts.type ?? 'motion', at: opts.eventAt }],
    eventTimes: [opts.eventAt],
    requestedStart: opts.eventAt - 5_000,
    requestedEnd: opts.eventAt + 10_000,
    startAt: opts.eventAt - 5_200,
    endAt: opts.eventAt + 10_100,
    durationSeconds: 15.3,
    gaps: [],
    partial: false,
    video: `${name}.mp4`,
    thumbnail: `${name}.jpg`,
    bytes: video.length,
    sha256: createHash('sha256').update(video).digest('hex'),
    thumbnailBytes: thumbnail.length,
    thumbnailSha256: createHash('sha256').update(thumbnail).digest('hex'),
  };
  for (const [file, data] of [
    [files.video, video],
    [files.thumbnail, thumbnail],
    [files.sidecar, Buffer.from(`${JSON.stringify(record, null, 2)}\n`)],
  ] as const) {
    const part = path.join(dir, `.${path.basename(file)}.part`);
    await writeFile(part, data);
    await rename(part, file);
  }
  return { record, files };
}
