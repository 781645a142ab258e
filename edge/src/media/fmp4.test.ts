import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { Fmp4Splitter, readInitSegment, type Fmp4Piece } from './fmp4.js';

const run = promisify(execFile);
let file: Buffer;

beforeAll(async () => {
  // Three seconds of H.264 with a key frame each second, as ffmpeg writes it for the ingest.
  const { stdout } = await run(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=25:duration=3'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-f', 'mp4', '-movflags', 'frag_keyframe+empty_moov+default_base_moof', 'pipe:1'],
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  file = stdout;
});

function split(chunkSizes: (i: number) => number): Fmp4Piece[] {
  const splitter = new Fmp4Splitter();
  const pieces: Fmp4Piece[] = [];
  for (let at = 0, i = 0; at < file.length; i++) {
    const n = chunkSizes(i);
    pieces.push(...splitter.push(file.subarray(at, at + n)));
    at += n;
  }
  return pieces;
}

const boxType = (b: Buffer, at = 0) => b.toString('latin1', at + 4, at + 8);

describe('Fmp4Splitter', () => {
  it('cuts the same init segment and fragments whatever the chunk sizes', () => {
    const whole = split(() => file.length);
    expect(whole[0]?.kind).toBe('init');
    expect(boxType(whole[0]!.data)).toBe('ftyp');
    expect(readInitSegment(whole[0]!.data).video).not.toBeNull();
    const fragments = whole.slice(1);
    expect(fragments.length).toBeGreaterThanOrEqual(3);
    for (const f of fragments) {
      expect(f.kind).toBe('fragment');
      expect(boxType(f.data)).toBe('moof');
      expect(boxType(f.data, f.data.readUInt32BE(0))).toBe('mdat');
    }
    for (const sizes of [() => 1, () => 7, (i: number) => 1 + ((i * 7919) % 65_536)]) {
      const pieces = split(sizes);
      expect(pieces.map((p) => p.kind)).toEqual(whole.map((p) => p.kind));
      pieces.forEach((p, i) => expect(p.data.equals(whole[i]!.data)).toBe(true));
    }
  });

  it('refuses bytes that are not MP4', () => {
    expect(() => new Fmp4Splitter().push(Buffer.from('RTSP/1.0 200 OK\r\n\r\n'))).toThrow(/not a fragmented MP4 stream/);
  });
});
