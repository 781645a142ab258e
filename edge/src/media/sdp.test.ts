import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseSdp, parseSps } from './sdp.js';

/** The SPS NAL unit of one frame encoded by the system ffmpeg. */
function encodedSps(size: string, profile: 'baseline' | 'main' | 'high'): Buffer {
  const annexB = execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=1`, '-frames:v', '1', '-c:v', 'libx264', '-profile:v', profile, '-pix_fmt', 'yuv420p', '-f', 'h264', 'pipe:1']);
  const start = annexB.indexOf(Buffer.from([0, 0, 1, 0x67]));
  const end = annexB.indexOf(Buffer.from([0, 0, 1]), start + 4);
  // A 4-byte start code before the next NAL leaves a zero at the end of this one.
  return annexB.subarray(start + 3, annexB[end - 1] === 0 ? end - 1 : end);
}

describe('SDP and SPS reading', () => {
  it('reads profile, level and size from real SPS (cropping included)', () => {
    expect(parseSps(encodedSps('1920x1080', 'high'))).toEqual({ avc1: 'avc1.640028', width: 1920, height: 1080 });
    const main = parseSps(encodedSps('320x180', 'main'));
    expect(main).toMatchObject({ width: 320, height: 180 });
    expect(main?.avc1).toMatch(/^avc1\.4D40[0-9A-F]{2}$/);
    expect(parseSps(Buffer.from([0x68, 1, 2, 3]))).toBeNull();
    expect(parseSps(Buffer.from([0x67, 0x64]))).toBeNull();
  });

  it('reads the codecs of a camera SDP', () => {
    const sps = encodedSps('1280x720', 'main').toString('base64');
    const sdp = [
      'v=0',
      'o=- 1 1 IN IP4 0.0.0.0',
      's=Media Presentation',
      'm=video 0 RTP/AVP 96',
      'a=rtpmap:96 H264/90000',
      `a=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=${sps},aM48gA==`,
      'a=control:trackID=1',
      'm=audio 0 RTP/AVP 8',
      'a=control:trackID=2',
    ].join('\r\n');
    expect(parseSdp(sdp)).toMatchObject({ video: 'h264', audio: 'pcma', width: 1280, height: 720, avc1: expect.stringMatching(/^avc1\.4D40/) as unknown });
    expect(parseSdp('m=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/16000/1')).toMatchObject({ video: 'h265', audio: 'aac' });
    expect(parseSdp('m=video 0 RTP/AVP 26\r\n')).toMatchObject({ video: 'mjpeg', audio: null });
    expect(parseSdp('m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f\r\nm=audio 0 RTP/AVP 0\r\n')).toMatchObject({ avc1: 'avc1.42E01F', audio: 'pcmu' });
    expect(parseSdp('m=video 0 RTP/AVP 98\r\na=rtpmap:98 VP8/90000\r\nm=audio 0 RTP/AVP 99\r\na=rtpmap:99 opus/48000')).toMatchObject({ video: null, audio: 'other' });
  });
});
