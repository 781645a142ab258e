import { describe, expect, it } from 'vitest';
import { startsKeyframe } from './keyframe.js';
import { MAX_HEADER_BYTES, parseFrame, parseTransport, serializeResponse } from './message.js';
import { parseRtspSpec } from './cli.js';
import { describeSdp, ffmpegArgs, resolveStreamSpec } from './source.js';

const buf = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('RTSP request parser', () => {
  it('reads a request with headers and a body, and says how much it used', () => {
    const raw = 'SET_PARAMETER rtsp://h/a RTSP/1.0\r\nCSeq: 7\r\nContent-Length: 4\r\nSession:  abc ;timeout=60\r\n\r\nbodyDESCRIBE';
    const f = parseFrame(buf(raw));
    expect(f.kind).toBe('request');
    if (f.kind !== 'request') return;
    expect(f.request.method).toBe('SET_PARAMETER');
    expect(f.request.uri).toBe('rtsp://h/a');
    expect(f.request.headers.get('cseq')).toBe('7');
    expect(f.request.headers.get('session')).toBe('abc ;timeout=60');
    expect(f.request.body.toString()).toBe('body');
    expect(f.consumed).toBe(raw.length - 'DESCRIBE'.length);
  });

  it('waits for the rest of a request or of its body', () => {
    expect(parseFrame(buf('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n')).kind).toBe('incomplete');
    expect(parseFrame(buf('OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 10\r\n\r\nabc')).kind).toBe('incomplete');
    expect(parseFrame(buf('$\x00\x00\x05ab')).kind).toBe('incomplete');
  });

  it('reads interleaved frames', () => {
    const f = parseFrame(Buffer.concat([buf('$\x01\x00\x03'), buf('xyz'), buf('OPTIONS')]));
    expect(f).toMatchObject({ kind: 'interleaved', channel: 1, consumed: 7 });
  });

  it.each([
    ['garbage', 'hello there\r\n\r\n'],
    ['a lower-case method', 'options * RTSP/1.0\r\nCSeq: 1\r\n\r\n'],
    ['another protocol', 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a header without a colon', 'OPTIONS * RTSP/1.0\r\nCSeq 1\r\n\r\n'],
    ['a bad Content-Length', 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -4\r\n\r\n'],
    ['a huge Content-Length', 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 999999999\r\n\r\n'],
    ['binary noise', '\x00\xff\xfe\r\n\r\n'],
  ])('refuses %s', (_what, raw) => {
    expect(parseFrame(buf(raw)).kind).toBe('error');
  });

  it('refuses a header block larger than the limit, even before it ends', () => {
    expect(parseFrame(buf(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(MAX_HEADER_BYTES)}`)).kind).toBe('error');
  });

  it('never throws on random bytes', () => {
    let seed = 42;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      expect(() => parseFrame(Buffer.concat([b, buf('\r\n\r\n')]))).not.toThrow();
    }
  });
});

describe('RTSP responses and transports', () => {
  it('writes status, repeated headers and Content-Length', () => {
    const text = serializeResponse(401, { CSeq: '3', 'WWW-Authenticate': ['Digest realm="r"', 'Basic realm="r"'] }, 'x').toString();
    expect(text).toBe('RTSP/1.0 401 Unauthorized\r\nCSeq: 3\r\nWWW-Authenticate: Digest realm="r"\r\nWWW-Authenticate: Basic realm="r"\r\nContent-Length: 1\r\n\r\nx');
  });

  it('picks the first transport it can serve', () => {
    expect(parseTransport('RTP/AVP/TCP;unicast;interleaved=2-3')).toEqual({ kind: 'tcp', channels: [2, 3] });
    expect(parseTransport('RTP/AVP/TCP;unicast')).toEqual({ kind: 'tcp', channels: undefined });
    expect(parseTransport('RTP/AVP;multicast, RTP/AVP;unicast;client_port=5000-5001')).toEqual({ kind: 'udp', clientPorts: [5000, 5001] });
    expect(parseTransport('RTP/AVP;unicast')).toBeUndefined();
    expect(parseTransport('RTP/SAVP;unicast;client_port=1-2')).toBeUndefined();
    expect(parseTransport('RTP/AVP/TCP;interleaved=300-301')).toBeUndefined();
  });
});

describe('stream specs, ffmpeg arguments and SDP', () => {
  it('fills defaults and refuses bad fields', () => {
    const s = resolveStreamSpec({}, '/live/main');
    expect(s).toEqual({ ok: true, value: expect.objectContaining({ codec: 'h264', width: 640, height: 360, label: '/live/main', audio: false }) });
    expect(resolveStreamSpec({ codec: 'vp8' }, '/a').ok).toBe(false);
    expect(resolveStreamSpec({ width: 641 }, '/a').ok).toBe(false);
    expect(resolveStreamSpec({ codec: 'mjpeg', width: 2560 }, '/a').ok).toBe(false);
    expect(resolveStreamSpec({ colour: 'red' }, '/a').ok).toBe(false);
  });

  it('sends each track to its own RTP port, keyframes every second, and keeps the overlay text safe', () => {
    const spec = resolveStreamSpec({ fps: 10, audio: true, label: "cam:1 'x'" }, '/a');
    if (!spec.ok) throw new Error(spec.error);
    const args = ffmpegArgs(
      spec.value,
      [
        { rtp: 5000, rtcp: 5001 },
        { rtp: 5002, rtcp: 5003 },
      ],
      '/f.ttf',
    );
    expect(args.filter((a) => a.startsWith('rtp://'))).toEqual(['rtp://127.0.0.1:5000?rtcpport=5001&connect=1', 'rtp://127.0.0.1:5002?rtcpport=5003&connect=1']);
    expect(args[args.indexOf('-g') + 1]).toBe('10');
    expect(args[args.indexOf('-vf') + 1]).toContain("text='%{localtime} cam_1 _x_'");
    expect(ffmpegArgs(spec.value, [], undefined)).not.toContain('-vf');
  });

  it('rewrites ffmpeg SDP for DESCRIBE with a control URL per track', () => {
    const raw = 'v=0\no=- 0 0 IN IP4 127.0.0.1\ns=No Name\nt=0 0\na=tool:libavformat\nm=video 40000 RTP/AVP 96\nc=IN IP4 127.0.0.1\na=rtpmap:96 H264/90000\nm=audio 40010 RTP/AVP 0\nc=IN IP4 127.0.0.1\n\n';
    expect(describeSdp(raw, 'cam', 5).split('\r\n')).toEqual([
      'v=0',
      'o=- 5 1 IN IP4 0.0.0.0',
      's=cam',
      'c=IN IP4 0.0.0.0',
      't=0 0',
      'a=control:*',
      'a=range:npt=0-',
      'm=video 0 RTP/AVP 96',
      'a=rtpmap:96 H264/90000',
      'a=control:trackID=0',
      'm=audio 0 RTP/AVP 0',
      'a=control:trackID=1',
      '',
    ]);
  });

  it('checks the rtsp command spec', () => {
    expect(parseRtspSpec({ streams: [{ path: '/a', codec: 'h265' }], username: 'admin', password: 'x' }).ok).toBe(true);
    expect(parseRtspSpec({ streams: [] }).ok).toBe(false);
    expect(parseRtspSpec({ streams: [{ path: 'a' }] }).ok).toBe(false);
    expect(parseRtspSpec({ streams: [{ path: '/a' }, { path: '/a' }] }).ok).toBe(false);
    expect(parseRtspSpec({ streams: [{ path: '/a' }], username: 'admin' }).ok).toBe(false);
    expect(parseRtspSpec({ streams: [{ path: '/a', fps: 0 }] }).ok).toBe(false);
  });
});

describe('keyframe detection', () => {
  const rtp = (...payload: number[]): Buffer => Buffer.concat([Buffer.from([0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]), Buffer.from(payload)]);
  it('finds H.264 SPS and IDR, also inside STAP-A and at the start of FU-A', () => {
    expect(startsKeyframe('h264', rtp(0x67, 0x42))).toBe(true);
    expect(startsKeyframe('h264', rtp(0x41, 0x9a))).toBe(false);
    expect(startsKeyframe('h264', rtp(0x18, 0, 2, 0x06, 0, 0, 2, 0x67, 0))).toBe(true);
    expect(startsKeyframe('h264', rtp(0x7c, 0x85))).toBe(true);
    expect(startsKeyframe('h264', rtp(0x7c, 0x05))).toBe(false);
  });
  it('finds H.265 parameter sets and IRAP pictures', () => {
    expect(startsKeyframe('h265', rtp(32 << 1, 1))).toBe(true);
    expect(startsKeyframe('h265', rtp(1 << 1, 1))).toBe(false);
    expect(startsKeyframe('h265', rtp(49 << 1, 1, 0x80 | 19))).toBe(true);
  });
  it('finds the first fragment of a JPEG frame, and ignores malformed packets', () => {
    expect(startsKeyframe('mjpeg', rtp(0, 0, 0, 0, 1, 64, 40, 30))).toBe(true);
    expect(startsKeyframe('mjpeg', rtp(0, 0, 4, 0, 1, 64, 40, 30))).toBe(false);
    expect(startsKeyframe('h264', Buffer.from([0x80, 96]))).toBe(false);
  });
});
