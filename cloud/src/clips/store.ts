import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { dirname, join, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import aws4 from 'aws4';
import type { ClipS3Config } from '../config.js';

/** Bytes `start` to `end` of an object, both included (as in an HTTP Range). */
export interface ByteRange {
  start: number;
  end: number;
}

/** The object asked for is not in the store (deleted by retention, or never put). */
export class ClipObjectMissing extends Error {
  constructor(readonly key: string) {
    super(`no clip object ${key}`);
  }
}

/**
 * Where finished clips are kept. Keys are relative paths of `[A-Za-z0-9._-]` segments. Putting a key again
 * replaces it and deleting a missing key succeeds, so every step can be repeated after a crash.
 */
export interface ClipStore {
  /** Stores the local file under `key`; the file stays where it is. */
  put(key: string, file: string, contentType: string): Promise<void>;
  /** The object, or the bytes of `range`; ClipObjectMissing when there is none. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** The object's size, or null when there is none. */
  size(key: string): Promise<number | null>;
  delete(key: string): Promise<void>;
}

const KEY = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;
function checkKey(key: string): string {
  if (!KEY.test(key) || key.split('/').some((s) => s === '.' || s === '..')) throw new Error(`invalid clip store key ${JSON.stringify(key)}`);
  return key;
}

/** Clips as files under a folder, written under a temporary name and renamed, so a reader never sees half of one. */
export class LocalClipStore implements ClipStore {
  constructor(readonly root: string) {}

  private path(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, file: string): Promise<void> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true });
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      // A second name for the same bytes when the file is on this disk; a copy otherwise.
      await link(file, temporary).catch(() => copyFile(file, temporary));
      await rename(temporary, target);
    } finally {
      await rm(temporary, { force: true });
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.path(key);
    if ((await this.size(key)) === null) throw new ClipObjectMissing(key);
    return createReadStream(path, range ? { start: range.start, end: range.end } : {});
  }

  async size(key: string): Promise<number | null> {
    try {
      const s = await stat(this.path(key));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(path, { force: true });
    // The clip's folder goes with its last object; a folder still in use stays.
    const folder = dirname(path);
    if (folder.startsWith(this.root + sep)) await rmdir(folder).catch(() => undefined);
  }
}

/**
 * Clips in a bucket of an S3-compatible service, path-style (`{endpoint}/{bucket}/{key}`), requests signed with
 * Signature V4. Bodies are streamed both ways; an upload's payload is not hashed into the signature
 * (`UNSIGNED-PAYLOAD`), so a clip is read once, as it is sent.
 */
export class S3ClipStore implements ClipStore {
  private readonly endpoint: URL;

  constructor(private readonly config: ClipS3Config) {
    this.endpoint = new URL(config.endpoint);
  }

  private request(method: string, key: string, headers: Record<string, string | number>, body?: Readable): Promise<IncomingMessage> {
    const prefix = this.endpoint.pathname.replace(/\/+$/, '');
    const signed = aws4.sign(
      {
        host: this.endpoint.host,
        path: `${prefix}/${this.config.bucket}/${checkKey(key)}`,
        method,
        service: 's3',
        region: this.config.region,
        headers: { 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD', ...headers },
      },
      { accessKeyId: this.config.accessKey, secretAccessKey: this.config.secretKey },
    );
    const transport = this.endpoint.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(
        { protocol: this.endpoint.protocol, hostname: this.endpoint.hostname, port: this.endpoint.port || undefined, method, path: signed.path, headers: signed.headers },
        resolve,
      );
      req.on('error', reject);
      if (body) {
        body.on('error', (err) => req.destroy(err));
        body.pipe(req);
      } else req.end();
    });
  }

  /** Refuses anything but the expected statuses, with what the service said. */
  private async expect(res: IncomingMessage, ok: number[], what: string): Promise<IncomingMessage> {
    if (ok.includes(res.statusCode ?? 0)) return res;
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? '';
    throw new Error(`clip store ${what}: HTTP ${res.statusCode}${code ? ` ${code}` : ''}`);
  }

  async put(key: string, file: string, contentType: string): Promise<void> {
    const { size } = await stat(file);
    const res = await this.request('PUT', key, { 'Content-Type': contentType, 'Content-Length': size }, createReadStream(file));
    await this.expect(res, [200], `put ${key}`);
    res.resume();
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    const res = await this.request('GET', key, range ? { Range: `bytes=${range.start}-${range.end}` } : {});
    if (res.statusCode === 404) {
      res.resume();
      throw new ClipObjectMissing(key);
    }
    return this.expect(res, range ? [206] : [200], `read ${key}`);
  }

  async size(key: string): Promise<number | null> {
    const res = await this.request('HEAD', key, {});
    if (res.statusCode === 404) {
      res.resume();
      return null;
    }
    await this.expect(res, [200], `size of ${key}`);
    res.resume();
    return Number(res.headers['content-length']);
  }

  async delete(key: string): Promise<void> {
    const res = await this.request('DELETE', key, {});
    // S3 answers 204 whether or not the object was there.
    await this.expect(res, [200, 204, 404], `delete ${key}`);
    res.resume();
  }
}

/** The store the configuration names: the bucket when one is set, else `{dataDir}/clips`. */
export function openClipStore(config: { dataDir: string; clipS3: ClipS3Config | null }): ClipStore {
  return config.clipS3 ? new S3ClipStore(config.clipS3) : new LocalClipStore(join(config.dataDir, 'clips'));
}
