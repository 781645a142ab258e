import { parseSps, type SpsInfo } from './sdp.js';

/** A piece of ffmpeg's fragmented MP4 output as it goes on the ingest. */
export type Fmp4Piece = { kind: 'init'; data: Buffer } | { kind: 'fragment'; data: Buffer };

const MAX_BOX_BYTES = 64 * 1024 * 1024;

/**
 * Cuts a fragmented MP4 byte stream at top-level box boundaries: ftyp+moov become the init segment, each
 * moof+mdat one fragment. Other top-level boxes (e.g. the mfra index ffmpeg writes at the end) are left out.
 */
export class Fmp4Splitter {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Buffer[] = [];

  /** The pieces completed by these bytes. Throws on a stream that is not MP4. */
  push(chunk: Buffer): Fmp4Piece[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const out: Fmp4Piece[] = [];
    for (;;) {
      const box = this.nextBox();
      if (!box) return out;
      if (box.type === 'ftyp' || box.type === 'moof') this.pending = [box.data];
      else if (box.type === 'moov') {
        out.push({ kind: 'init', data: Buffer.concat([...this.pending, box.data]) });
        this.pending = [];
      } else if (box.type === 'mdat' && this.pending.length > 0) {
        out.push({ kind: 'fragment', data: Buffer.concat([...this.pending, box.data]) });
        this.pending = [];
      }
    }
  }

  private nextBox(): { type: string; data: Buffer } | null {
    if (this.buffer.length < 8) return null;
    let size = this.buffer.readUInt32BE(0);
    const type = this.buffer.toString('latin1', 4, 8);
    if (size === 1) {
      if (this.buffer.length < 16) return null;
      size = Number(this.buffer.readBigUInt64BE(8));
    }
    if (size < 8 || size > MAX_BOX_BYTES || !/^[a-z0-9 ]{4}$/i.test(type)) throw new Error(`not a fragmented MP4 stream (box ${JSON.stringify(type)} of ${size} bytes)`);
    if (this.buffer.length < size) return null;
    const data = this.buffer.subarray(0, size);
    this.buffer = this.buffer.subarray(size);
    return { type, data };
  }
}

/** What an init segment says about its tracks: the H.264 SPS (profile, level, size) and whether AAC is in it. */
export interface InitInfo {
  video: SpsInfo | null;
  aac: boolean;
}

/** Reads the avcC of the video track and looks for an mp4a sample entry. */
export function readInitSegment(init: Buffer): InitInfo {
  let video: SpsInfo | null = null;
  const at = init.indexOf('avcC', 0, 'latin1');
  // avcC: version, profile, compatibility, level, length size, SPS count, then 16-bit length + SPS.
  if (at >= 4 && init.length >= at + 12) {
    const spsLength = init.readUInt16BE(at + 10);
    const sps = init.subarray(at + 12, at + 12 + spsLength);
    video = parseSps(sps);
  }
  return { video, aac: init.includes('mp4a', 0, 'latin1') };
}
