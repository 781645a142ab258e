/**
 * Property tests with a seeded pseudo-random generator: the decoders never throw, whatever they are fed, and
 * nothing whose CRC does not match its body is ever accepted.
 */
import { describe, expect, it } from 'vitest';
import { encodeContactId } from './contact-id.js';
import { DC09_MAX_FRAME_BYTES, Dc09FailReason, Dc09FrameSplitter, decodeDc09Frame, encodeDc09Frame, parseDc09Frame, wrapDc09Body, type Dc09Outgoing } from './frame.js';
import { decodeDc09Event } from './messages.js';
import { decodeSiaData, encodeSiaData } from './sia.js';

/** mulberry32: small, fast, good enough to drive a fuzzer reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A bit-by-bit CRC-16/ARC written independently of crc.ts, to judge the decoder. */
function referenceCrc(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

/** The CRC field and body of an input, cut the way the decoder cuts them. */
function crcFieldMatchesBody(input: Buffer): boolean {
  let end = input.length;
  while (end > 0 && input[end - 1] === 0) end--;
  let start = 0;
  if (input[0] === 0x0a) start = 1;
  if (end > start && input[end - 1] === 0x0d) end--;
  const field = parseInt(input.subarray(start, start + 4).toString('latin1'), 16);
  return field === referenceCrc(input.subarray(start + 8, end));
}

const REASONS = new Set<string>(Object.values(Dc09FailReason));

describe('DC-09 decoder under fuzzing', () => {
  const rnd = prng(0x5eed_dc09);
  const int = (n: number): number => Math.floor(rnd() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789ABCDEF'[int(16)]).join('');
  const digits = (n: number): string => Array.from({ length: n }, () => String(int(10))).join('');
  const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(256)));
  const keyOf = (): Buffer | string | null => pick([null, null, Buffer.from(hex(32), 'hex'), hex(48), hex(64), bytes(32)]);

  function randomMessage(): Dc09Outgoing {
    const account = hex(3 + int(14));
    const id = pick(['SIA-DCS', 'ADM-CID', 'NULL'] as const);
    let data = '';
    if (id === 'SIA-DCS') {
      const block = encodeSiaData({
        account,
        events: Array.from({ length: 1 + int(3) }, () => ({ code: pick(['BA', 'BR', 'FA', 'PA', 'TA', 'RP', 'OP', 'CL', 'ZQ']), address: digits(1 + int(4)), area: digits(1 + int(2)), ...(rnd() < 0.3 ? { text: 'Zone ' + digits(2) } : {}) })),
      });
      if (!block.ok) throw new Error(block.error);
      data = block.value;
    } else if (id === 'ADM-CID') {
      const cid = encodeContactId({ account, qualifier: pick([1, 3, 6] as const), code: 100 + int(900), partition: int(100), zone: int(1000) });
      if (!cid.ok) throw new Error(cid.error);
      data = cid.value;
    }
    const key = keyOf();
    return {
      id,
      sequence: id === 'NULL' ? int(10000) : 1 + int(9999),
      account,
      ...(rnd() < 0.5 ? { receiver: hex(1 + int(6)) } : {}),
      line: hex(1 + int(6)),
      data,
      xdata: id === 'NULL' ? [] : Array.from({ length: int(3) }, () => ({ id: pick(['X', 'Y', 'M', 'V']), value: hex(int(20)) })),
      ...(key || rnd() < 0.5 ? { timestamp: new Date(Date.UTC(2000 + int(60), int(12), 1 + int(28), int(24), int(60), int(60))) } : {}),
      key,
    };
  }

  const valid: { frame: Buffer; msg: Dc09Outgoing }[] = [];
  for (let i = 0; i < 1500; i++) {
    const msg = randomMessage();
    const frame = encodeDc09Frame(msg);
    if (!frame.ok) throw new Error(`${frame.error} for ${JSON.stringify(msg)}`);
    valid.push({ frame: frame.value, msg });
  }

  it('decodes every frame it encodes back to the same message', () => {
    for (const { frame, msg } of valid) {
      const r = decodeDc09Frame(frame, msg.key);
      if (!r.ok) throw new Error(`${r.error}: ${frame.toString('latin1')}`);
      expect(r.value).toMatchObject({ id: msg.id, encrypted: Boolean(msg.key), sequence: msg.sequence, account: msg.account, line: msg.line, data: msg.data, xdata: msg.xdata, quirks: [] });
      expect(r.value.receiver).toBe(msg.receiver);
      expect(r.value.timestamp?.getTime()).toBe(msg.timestamp?.getTime());
      expect(decodeDc09Event(r.value).ok).toBe(true);
    }
  });

  it('never accepts a frame with any one byte of its body changed', () => {
    let tried = 0;
    for (const { frame, msg } of valid.slice(0, 400)) {
      for (let pos = 9; pos < frame.length - 1; pos += 1 + int(4)) {
        const m = Buffer.from(frame);
        m[pos] = (m[pos]! + 1 + int(255)) & 0xff;
        const r = decodeDc09Frame(m, msg.key);
        expect(r.ok, `byte ${pos} of ${frame.toString('latin1')}`).toBe(false);
        if (!r.ok) expect(['crc', 'length', 'framing', 'oversized']).toContain(r.reason);
        tried++;
      }
    }
    expect(tried).toBeGreaterThan(5000);
  });

  it('never throws on mutated frames, and accepts only CRC-correct ones', () => {
    const specials = [0x0a, 0x0d, 0x00, 0x5b, 0x5d, 0x7c, 0x22, 0x2a, 0x23, 0x5f];
    let accepted = 0;
    for (let i = 0; i < 6000; i++) {
      const { frame, msg } = pick(valid);
      let m = Buffer.from(frame);
      for (let k = 1 + int(3); k > 0; k--) {
        const at = int(m.length + 1);
        switch (int(7)) {
          case 0:
            if (m.length) {
              const i = Math.min(at, m.length - 1);
              m[i] = m[i]! ^ (1 << int(8));
            }
            break;
          case 1:
            m = Buffer.concat([m.subarray(0, at), Buffer.of(pick(specials)), m.subarray(at)]);
            break;
          case 2:
            m = Buffer.concat([m.subarray(0, at), m.subarray(at + 1 + int(8))]);
            break;
          case 3:
            m = m.subarray(0, at);
            break;
          case 4:
            m = Buffer.concat([m, m.subarray(int(m.length))]);
            break;
          case 5:
            m = Buffer.concat([m, Buffer.alloc(int(8))]);
            break;
          default:
            if (m.length) m[Math.min(at, m.length - 1)] = pick(specials);
        }
      }
      for (const key of [msg.key, keyOf(), () => keyOf()]) {
        const r = decodeDc09Frame(m, key);
        if (r.ok) {
          accepted++;
          expect(crcFieldMatchesBody(m), m.toString('latin1')).toBe(true);
        } else expect(REASONS.has(r.reason), r.reason).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(0);
  });

  it('never throws on random bytes or random bodies with a correct CRC', () => {
    const alphabet = '"*SIA-DCSADM-CIDNULLACKNAKDUH0123456789ABCDEFabcdefRL#[]|_:,-^/ \n\r\0\xff';
    const heads = ['"SIA-DCS"0001L0#1234[', '"*SIA-DCS"0001L0#1234[', '"ADM-CID"0002R1L0#12AB[', '"NULL"0000L0#1[', '"*ACK"0001L0#1[', '"NAK"0000R0L0A0[', '"DUH"9999L0#1['];
    for (let i = 0; i < 4000; i++) {
      const random = bytes(int(300));
      expect(() => decodeDc09Frame(random, keyOf())).not.toThrow();
      const tail = Array.from({ length: int(120) }, () => pick([...alphabet])).join('');
      const body = (rnd() < 0.7 ? pick(heads) : '') + (rnd() < 0.3 ? hex(32 * int(4)) : tail);
      const framed = wrapDc09Body(body);
      if (!framed.ok) continue;
      const r = decodeDc09Frame(framed.value, keyOf());
      if (!r.ok) expect(['format', 'unsupported', 'no-key', 'decrypt']).toContain(r.reason);
      expect(() => parseDc09Frame(tail)).not.toThrow();
      expect(() => decodeSiaData(tail)).not.toThrow();
      expect(() => decodeDc09Event({ id: pick(['SIA-DCS', 'ADM-CID']), data: tail })).not.toThrow();
    }
  });

  it('keeps the stream splitter bounded on random input', () => {
    const s = new Dc09FrameSplitter();
    for (let i = 0; i < 2000; i++) {
      const chunk = rnd() < 0.5 ? bytes(int(2000)) : pick(valid).frame.subarray(int(40));
      const out = s.push(chunk);
      for (const f of out.frames) expect(() => decodeDc09Frame(f)).not.toThrow();
      expect(s.pendingBytes).toBeLessThanOrEqual(DC09_MAX_FRAME_BYTES);
    }
  });
});
