/** What the box learns of a stream from its SDP (RFC 4566) before ffmpeg starts. */
export interface StreamDescription {
  video: 'h264' | 'h265' | 'mjpeg' | null;
  audio: 'pcmu' | 'pcma' | 'aac' | 'other' | null;
  width: number;
  height: number;
  /** The RFC 6381 codec string of H.264 video (`avc1.PPCCLL`), when the SDP names the profile. */
  avc1: string | null;
}

/** The parts of an H.264 sequence parameter set the box needs: profile, level and picture size. */
export interface SpsInfo {
  avc1: string;
  width: number;
  height: number;
}

/** Reads the first video and audio sections of an SDP. Never throws. */
export function parseSdp(sdp: string): StreamDescription {
  const out: StreamDescription = { video: null, audio: null, width: 0, height: 0, avc1: null };
  let media: 'video' | 'audio' | 'other' | null = null;
  let payloads: string[] = [];
  const rtpmap = new Map<string, string>();
  let done = { video: false, audio: false };
  const finish = (): void => {
    if (media === 'video' && !done.video) {
      out.video = videoCodec(payloads, rtpmap);
      done = { ...done, video: true };
    } else if (media === 'audio' && !done.audio) {
      out.audio = audioCodec(payloads, rtpmap);
      done = { ...done, audio: true };
    }
  };
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      finish();
      const [kind, , , ...pts] = line.slice(2).split(/\s+/);
      media = kind === 'video' || kind === 'audio' ? kind : 'other';
      payloads = pts;
      rtpmap.clear();
      continue;
    }
    if (media === null) continue;
    const map = /^a=rtpmap:(\d+)\s+([^/\s]+)/.exec(line);
    if (map?.[1] && map[2]) rtpmap.set(map[1], map[2].toUpperCase());
    if (media !== 'video' || done.video) continue;
    const fmtp = /^a=fmtp:\d+\s+(.*)$/.exec(line);
    if (fmtp?.[1]) readVideoFmtp(fmtp[1], out);
    const dims = /^a=x-dimensions:\s*(\d+)\s*,\s*(\d+)/.exec(line) ?? /^a=framesize:\d+\s+(\d+)-(\d+)/.exec(line);
    if (dims && out.width === 0) {
      out.width = Number(dims[1]);
      out.height = Number(dims[2]);
    }
  }
  finish();
  return out;
}

function videoCodec(payloads: string[], rtpmap: Map<string, string>): StreamDescription['video'] {
  for (const pt of payloads) {
    const name = rtpmap.get(pt) ?? (pt === '26' ? 'JPEG' : '');
    if (name === 'H264') return 'h264';
    if (name === 'H265' || name === 'HEVC') return 'h265';
    if (name === 'JPEG') return 'mjpeg';
  }
  return null;
}

function audioCodec(payloads: string[], rtpmap: Map<string, string>): StreamDescription['audio'] {
  const pt = payloads[0];
  if (pt === undefined) return null;
  const name = rtpmap.get(pt) ?? (pt === '0' ? 'PCMU' : pt === '8' ? 'PCMA' : '');
  if (name === 'PCMU') return 'pcmu';
  if (name === 'PCMA') return 'pcma';
  if (name === 'MPEG4-GENERIC' || name === 'MP4A-LATM') return 'aac';
  return 'other';
}

function readVideoFmtp(params: string, out: StreamDescription): void {
  for (const part of params.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === 'sprop-parameter-sets') {
      const sps = parseSps(Buffer.from(value.split(',')[0] ?? '', 'base64'));
      if (sps) {
        out.avc1 = sps.avc1;
        out.width = sps.width;
        out.height = sps.height;
      }
    } else if (key === 'profile-level-id' && out.avc1 === null && /^[0-9a-fA-F]{6}$/.test(value)) {
      out.avc1 = `avc1.${value.toUpperCase()}`;
    }
  }
}

/** The RFC 6381 string of profile, constraint flags and level bytes. */
export const avc1Of = (profile: number, constraints: number, level: number): string =>
  `avc1.${[profile, constraints, level].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join('')}`;

/** Exp-Golomb reader over an RBSP (emulation prevention bytes removed). */
class BitReader {
  private bit = 0;
  constructor(private readonly data: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.data[this.bit >> 3];
      if (byte === undefined) throw new RangeError('SPS truncated');
      v = v * 2 + ((byte >> (7 - (this.bit & 7))) & 1);
      this.bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RangeError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Reads an H.264 SPS NAL unit (ITU-T H.264 §7.3.2.1.1); null when it is not one or is malformed. */
export function parseSps(nal: Buffer): SpsInfo | null {
  if (nal.length < 4 || ((nal[0] ?? 0) & 0x1f) !== 7) return null;
  const rbsp: number[] = [];
  for (let i = 1; i < nal.length; i++) {
    const b = nal[i] ?? 0;
    // 00 00 03 → 00 00: the 03 only prevents a start code.
    if (b === 3 && i >= 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    rbsp.push(b);
  }
  try {
    const r = new BitReader(Buffer.from(rbsp));
    const profile = r.u(8);
    const constraints = r.u(8);
    const level = r.u(8);
    r.ue();
    let chromaFormat = 1;
    let separateColourPlane = 0;
    if (HIGH_PROFILES.has(profile)) {
      chromaFormat = r.ue();
      if (chromaFormat === 3) separateColourPlane = r.u(1);
      r.ue();
      r.ue();
      r.u(1);
      if (r.u(1) === 1) {
        for (let i = 0; i < (chromaFormat === 3 ? 12 : 8); i++) {
          if (r.u(1) === 0) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64) && next !== 0; j++) {
            next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue();
    const pocType = r.ue();
    if (pocType === 0) r.ue();
    else if (pocType === 1) {
      r.u(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue();
    r.u(1);
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.u(1);
    if (frameMbsOnly === 0) r.u(1);
    r.u(1);
    let crop = [0, 0, 0, 0];
    if (r.u(1) === 1) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const arrayType = separateColourPlane === 1 ? 0 : chromaFormat;
    const cropX = arrayType === 0 ? 1 : arrayType === 3 ? 1 : 2;
    const cropY = (arrayType === 0 || arrayType === 3 ? 1 : arrayType === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const [left = 0, right = 0, top = 0, bottom = 0] = crop;
    return {
      avc1: avc1Of(profile, constraints, level),
      width: widthMbs * 16 - cropX * (left + right),
      height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (top + bottom),
    };
  } catch {
    return null;
  }
}
