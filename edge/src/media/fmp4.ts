import { parseSps, type SpsInfo } from './sdp.js';

/** A piece of ffmpeg's fragmented MP4 output as it goes on the ingest. */
export type Fmp4Piece = { kind: 'init'; data: Buffer } | { kind: 'fragment'; data: Buffer };

const MAX_BOX_BYTES = 64 * 1024 * 1024;

/**
 * Cuts a fragmented MP4 byte stream at top-level box boundaries: ftyp+moov become the init segment, each
 * moof+mdat one fragment. Other top-level boxes (e.g. the mfra index ffmpeg writes at the end) are left out.
 */
export class Fmp4Splitter {
  /** Bytes read but not yet cut, kept as the chunks they came in: a box is copied once, when it is complete. */
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes needed before the next box can be cut: a header, or the whole box once its header was read. */
  private need = 8;
  private pending: Buffer[] = [];

  /** The pieces completed by these bytes. Throws on a stream that is not MP4. */
  push(chunk: Buffer): Fmp4Piece[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: Fmp4Piece[] = [];
    while (this.buffered >= this.need) {
      const box = this.nextBox();
      if (!box) break;
      if (box.type === 'ftyp' || box.type === 'moof') this.pending = [box.data];
      else if (box.type === 'moov') {
        out.push({ kind: 'init', data: Buffer.concat([...this.pending, box.data]) });
        this.pending = [];
      } else if (box.type === 'mdat' && this.pending.length > 0) {
        out.push({ kind: 'fragment', data: Buffer.concat([...this.pending, box.data]) });
        this.pending = [];
      }
    }
    return out;
  }

  private nextBox(): { type: string; data: Buffer } | null {
    if (this.buffered < 8) return null;
    const header = this.peek(Math.min(16, this.buffered));
    let size = header.readUInt32BE(0);
    const type = header.toString('latin1', 4, 8);
    if (size === 1) {
      if (header.length < 16) {
        this.need = 16;
        return null;
      }
      size = Number(header.readBigUInt64BE(8));
    }
    if (size < 8 || size > MAX_BOX_BYTES || !/^[a-z0-9 ]{4}$/i.test(type)) throw new Error(`not a fragmented MP4 stream (box ${JSON.stringify(type)} of ${size} bytes)`);
    if (this.buffered < size) {
      this.need = size;
      return null;
    }
    this.need = 8;
    return { type, data: this.take(size) };
  }

  /** The first `n` buffered bytes, copied only when they span chunks. */
  private peek(n: number): Buffer {
    const parts: Buffer[] = [];
    let got = 0;
    for (const c of this.chunks) {
      parts.push(c);
      got += c.length;
      if (got >= n) break;
    }
    return parts.length === 1 ? parts[0]!.subarray(0, n) : Buffer.concat(parts, n);
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let left = n;
    let used = 0;
    while (left > 0) {
      const c = this.chunks[used]!;
      if (c.length <= left) {
        parts.push(c);
        used++;
        left -= c.length;
      } else {
        parts.push(c.subarray(0, left));
        this.chunks[used] = c.subarray(left);
        left = 0;
      }
    }
    this.chunks.splice(0, used);
    this.buffered -= n;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, n);
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
