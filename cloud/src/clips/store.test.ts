import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClipsPage } from '@vigil/protocol/api';
import { registerCompany, startTestCloud, type TestCloud } from '../testing/cloud.js';
import { EdgePlayers } from '../testing/edge.js';
import { ClipObjectMissing, LocalClipStore, S3ClipStore, type ClipStore } from './store.js';
import { BoxClient, clipMedia, clipMeta, clipSite } from './testing.js';
import { clipObjectKey } from './uploads.js';

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: { port: number; address: string; silent: boolean; directory: string; configureBuckets: { name: string }[] }) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;

const BUCKET = 'vigil-clips';
const work = mkdtempSync(join(tmpdir(), 'vigil-clip-store-'));
let s3: S3rverInstance;
let s3Endpoint: string;
const object = randomBytes(300 * 1024 + 7);
const file = join(work, 'object.bin');

beforeAll(async () => {
  writeFileSync(file, object);
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: join(work, 's3'), configureBuckets: [{ name: BUCKET }] });
  s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
});

afterAll(async () => {
  await s3?.close();
  rmSync(work, { recursive: true, force: true });
});

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const stores: [string, () => ClipStore][] = [
  ['on local disk', () => new LocalClipStore(join(work, 'local'))],
  ['in an S3-compatible bucket', () => new S3ClipStore({ endpoint: s3Endpoint, bucket: BUCKET, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' })],
];

describe.each(stores)('the clip store %s', (_name, open) => {
  it('puts, reads whole and by range, sizes and deletes, each repeatable', async () => {
    const store = open();
    const key = `company-${randomBytes(3).toString('hex')}/clip/video.mp4`;
    expect(await store.size(key)).toBeNull();
    await store.put(key, file, 'video/mp4');
    // Again, as after a crash before the clip was marked complete.
    await store.put(key, file, 'video/mp4');
    expect(existsSync(file)).toBe(true);
    expect(await store.size(key)).toBe(object.length);
    expect((await bytesOf(await store.read(key))).equals(object)).toBe(true);
    expect((await bytesOf(await store.read(key, { start: 1000, end: 1999 }))).equals(object.subarray(1000, 2000))).toBe(true);
    expect((await bytesOf(await store.read(key, { start: object.length - 5, end: object.length - 1 }))).equals(object.subarray(-5))).toBe(true);
    await store.delete(key);
    await store.delete(key);
    expect(await store.size(key)).toBeNull();
    await expect(store.read(key)).rejects.toBeInstanceOf(ClipObjectMissing);
  });

  it('refuses keys that would leave its place', async () => {
    const store = open();
    for (const key of ['../escape', 'a/../../b', '/absolute', 'a//b', 'spaces here']) await expect(store.put(key, file, 'video/mp4')).rejects.toThrow(/invalid clip store key/);
  });
});

describe('the S3 clip store', () => {
  it('fails loudly when the bucket refuses its credentials or does not exist', async () => {
    // s3rver checks the access key of a Signature V4 request, not the signature itself.
    const stranger = new S3ClipStore({ endpoint: s3Endpoint, bucket: BUCKET, accessKey: 'NOBODY', secretKey: 'S3RVER', region: 'us-east-1' });
    await expect(stranger.put('a/b.mp4', file, 'video/mp4')).rejects.toThrow(/HTTP 403 InvalidAccessKeyId/);
    await expect(stranger.size('a/b.mp4')).rejects.toThrow(/HTTP 403/);
    const nowhere = new S3ClipStore({ endpoint: s3Endpoint, bucket: 'no-such-bucket', accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' });
    await expect(nowhere.put('a/b.mp4', file, 'video/mp4')).rejects.toThrow(/HTTP 404 NoSuchBucket/);
  });
});

describe('a cloud keeping its clips in a bucket', () => {
  let cloud: TestCloud;
  let players: EdgePlayers;

  beforeAll(async () => {
    cloud = await startTestCloud({
      VIGIL_CLIP_S3_ENDPOINT: s3Endpoint,
      VIGIL_CLIP_S3_BUCKET: BUCKET,
      VIGIL_CLIP_S3_ACCESS_KEY: 'S3RVER',
      VIGIL_CLIP_S3_SECRET_KEY: 'S3RVER',
    });
    players = new EdgePlayers(cloud.mqttUrl);
  }, 60_000);

  afterAll(async () => {
    await players?.closeAll();
    await cloud?.stop();
  });

  it('uploads through local partial files into the bucket, and plays from it', async () => {
    const media = clipMedia();
    const T0 = Date.parse('2026-11-20T10:00:00Z');
    const installer = await registerCompany(cloud.api);
    const site = await clipSite(cloud, players, installer.client, T0);
    const box = new BoxClient(`${cloud.api}/edge/clips`, site.serial, site.secret);
    const meta = clipMeta(site.camera, 1, T0);
    await box.create(meta);
    await box.patch(meta.clipId, 'video', 0, media.video.subarray(0, 5000));
    expect(existsSync(cloud.ctx.clips.partialPath(meta.clipId, 'video'))).toBe(true);
    await box.patch(meta.clipId, 'video', 5000, media.video.subarray(5000));
    expect((await box.patch(meta.clipId, 'thumbnail', 0, media.thumbnail)).body.complete).toBe(true);

    const bucket = new S3ClipStore({ endpoint: s3Endpoint, bucket: BUCKET, accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1' });
    expect(await bucket.size(clipObjectKey({ companyId: site.companyId, id: meta.clipId }, 'video'))).toBe(media.video.length);
    expect(await bucket.size(clipObjectKey({ companyId: site.companyId, id: meta.clipId }, 'thumbnail'))).toBe(media.thumbnail.length);
    // Nothing of the clip is left on the cloud's disk.
    expect(readdirSync(join(cloud.ctx.config.dataDir, 'clips'))).toEqual(['partial']);
    expect(readdirSync(cloud.ctx.clips.partialDir)).toEqual([]);

    const page = await installer.client.get<ClipsPage>(`/sites/${site.siteId}/clips`);
    expect(page.body.items.map((c) => c.id)).toEqual([meta.clipId]);
    const ranged = await fetch(`${cloud.api}/clips/${meta.clipId}/video`, { headers: { cookie: installer.client.cookie!, range: 'bytes=0-99' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(media.video.subarray(0, 100))).toBe(true);
  });
});
