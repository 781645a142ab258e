/**
 * Finds where a viewer can start decoding in an RTP video stream, so a new session is sent nothing before
 * its first keyframe (RFC 6184 for H.264, RFC 7798 for H.265, RFC 2435 for JPEG). Pure, never throws.
 */
import type { RtspCodec } from './source.js';

/** The RTP payload of a packet (RFC 3550 section 5.1), or undefined when the header is malformed. */
export function rtpPayload(packet: Buffer): Buffer | undefined {
  if (packet.length < 12 || packet[0]! >> 6 !== 2) return undefined;
  let offset = 12 + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    if (packet.length < offset + 4) return undefined;
    offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  }
  return offset < packet.length ? packet.subarray(offset) : undefined;
}

const H264_SPS = 7;
const H264_IDR = 5;
const H264_STAP_A = 24;
const H264_FU_A = 28;
const H265_AP = 48;
const H265_FU = 49;

const h264Key = (type: number): boolean => type === H264_SPS || type === H264_IDR;
// VPS, SPS, PPS, or an intra random access point (BLA, IDR, CRA).
const h265Key = (type: number): boolean => (type >= 32 && type <= 34) || (type >= 16 && type <= 21);

/** True when this packet begins a frame a decoder can start from. */
export function startsKeyframe(codec: RtspCodec, packet: Buffer): boolean {
  const p = rtpPayload(packet);
  if (!p || p.length < 2) return false;
  if (codec === 'mjpeg') return p.length >= 4 && p.readUIntBE(1, 3) === 0;
  if (codec === 'h264') {
    const type = p[0]! & 0x1f;
    if (type === H264_FU_A) return (p[1]! & 0x80) !== 0 && h264Key(p[1]! & 0x1f);
    if (type === H264_STAP_A) return aggregated(p, 1, (b) => h264Key(b & 0x1f));
    return h264Key(type);
  }
  const type = (p[0]! >> 1) & 0x3f;
  if (type === H265_FU) return p.length >= 3 && (p[2]! & 0x80) !== 0 && h265Key(p[2]! & 0x3f);
  if (type === H265_AP) return aggregated(p, 2, (b) => h265Key((b >> 1) & 0x3f));
  return h265Key(type);
}

/** Walks the NAL units of an aggregation packet (2-byte sizes) and tests each one's first byte. */
function aggregated(p: Buffer, offset: number, isKey: (firstByte: number) => boolean): boolean {
  while (offset + 3 <= p.length) {
    const size = p.readUInt16BE(offset);
    if (size === 0) return false;
    if (isKey(p[offset + 2]!)) return true;
    offset += 2 + size;
  }
  return false;
}
