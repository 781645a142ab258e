import { createDecipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { crc16Arc, crcHex } from './crc.js';
import { decryptDc09Payload, dc09Pad, dc09PadLength, encryptDc09Payload, parseDc09Key } from './crypto.js';
import { decodeDc09Frame, encodeDc09Frame, parseDc09Frame } from './frame.js';
import { buildDc09Ack } from './messages.js';

const lfcr = (s: string): string => `\n${s}\r`;

/**
 * Encrypted frames from the test suite of Swissdotnet's SIA-DC-09 library (CombinedStandardTest), with
 * their keys. They were produced by other implementations; decrypting them checks the cipher, the zero IV
 * and the pad layout.
 */
const KEY_ABCD = 'ABCDABCDABCDABCDABCDABCDABCDABCD';
const GOLDEN_EVENT =
  'E88800a7"*SIA-DCS"0000RC0FFDL1234#080027E62A64[A054F111518361720BAB126501C6D994CD9151D2C84881C0FEA933A0790F49A9236EBD45F2AED32FAA252EB1AA18FC3CDEDE2452F33185E5931D31308D9B9882';
const GOLDEN_EVENT_LOWER =
  'a60a00a7"*SIA-DCS"0000Rc0ffdL1234#080027E62A64[1636385bf3ee2cf761f578f5b57eea422ca7601e0823c89d6f19feadf690104690e105e61d3989316bcb26df482a42dc3b4b3b0e9c40da4d3642e7d72cc5ce95';
const GOLDEN_NULL = 'CAC10064"*NULL"0000RC0FFDL1234#080027E62A64[70D7DC480FA7DC0DE428CE02447BA2E2981A161EA14CB780D2CD917208059E11';
const GOLDEN_ACK = 'E34C0062"*ACK"0001R5678L1234#080027E62A64[14F088FF5DCB19D1908069507EAB97C7CDB20F1C6EFA550BB59864D54B2DFA1C';
const GOLDEN_ACK_2 = { key: '28376EF26E782E1A4A160E3276E5FB93', frame: '02B70063"*ACK"0000RC0FFDL1234#00900B376AB6[5F1BEAF37775DEC5F901894BDD25D9565C122B2BBAAD72E84E23B8F75554EF8C' };

describe('parseDc09Key', () => {
  it('takes 32, 48 or 64 hex characters, or 16, 24 or 32 raw bytes', () => {
    for (const n of [16, 24, 32]) {
      expect(parseDc09Key('ab'.repeat(n))).toEqual({ ok: true, value: Buffer.alloc(n, 0xab) });
      expect(parseDc09Key(new Uint8Array(n).fill(7))).toEqual({ ok: true, value: Buffer.alloc(n, 7) });
    }
    for (const bad of ['', 'ab'.repeat(15), 'ab'.repeat(20), 'zz'.repeat(16), new Uint8Array(15), new Uint8Array(33)]) expect(parseDc09Key(bad).ok).toBe(false);
  });
});

describe('golden encrypted frames', () => {
  it('decrypts an event, in upper and lower case', () => {
    const r = decodeDc09Frame(lfcr(GOLDEN_EVENT), KEY_ABCD);
    expect(r).toMatchObject({
      ok: true,
      value: {
        id: 'SIA-DCS',
        encrypted: true,
        sequence: 0,
        receiver: 'C0FFD',
        line: '1234',
        account: '080027E62A64',
        data: '#080027E62A64|NHB0003',
        xdata: [{ id: 'E', value: '115000' }],
        timestamp: new Date('2015-06-22T15:12:40Z'),
      },
    });
    const lower = decodeDc09Frame(lfcr(GOLDEN_EVENT_LOWER), KEY_ABCD);
    expect(lower.ok && lower.value).toMatchObject({ data: '#080027E62A64|NHB0003', timestamp: new Date('2015-06-22T15:05:02Z') });
  });

  it('decrypts a NULL and two ACKs', () => {
    const nul = decodeDc09Frame(lfcr(GOLDEN_NULL), KEY_ABCD);
    expect(nul.ok && nul.value).toMatchObject({ id: 'NULL', encrypted: true, data: '', timestamp: new Date('2015-06-22T13:43:09Z') });
    const ack = decodeDc09Frame(lfcr(GOLDEN_ACK), KEY_ABCD);
    expect(ack.ok && ack.value).toMatchObject({ id: 'ACK', encrypted: true, sequence: 1, timestamp: new Date('2015-04-14T16:08:12Z') });
    const ack2 = decodeDc09Frame(lfcr(GOLDEN_ACK_2.frame), Buffer.from(GOLDEN_ACK_2.key, 'hex'));
    expect(ack2.ok && ack2.value).toMatchObject({ id: 'ACK', account: '00900B376AB6', timestamp: new Date('2015-04-27T08:06:26Z') });
  });

  it('re-encrypts the golden ACK byte for byte given the same pad', () => {
    const hex = GOLDEN_ACK.slice(GOLDEN_ACK.indexOf('[') + 1);
    const plain = decryptDc09Payload(hex, KEY_ABCD);
    if (!plain.ok) throw new Error(plain.error);
    const pad = plain.value.subarray(0, plain.value.indexOf(0x7c));
    const again = buildDc09Ack(
      { sequence: 1, receiver: '5678', line: '1234', account: '080027E62A64' },
      { key: KEY_ABCD, now: new Date('2015-04-14T16:08:12Z'), random: () => pad },
    );
    expect(again.ok && again.value.toString('latin1')).toBe(lfcr(GOLDEN_ACK));
  });

  it('refuses a wrong key and a missing key, and keeps the header for the answer', () => {
    const wrong = decodeDc09Frame(lfcr(GOLDEN_EVENT), '00'.repeat(16));
    expect(wrong).toMatchObject({ ok: false, reason: 'decrypt', header: { sequence: 0, account: '080027E62A64' } });
    expect(decodeDc09Frame(lfcr(GOLDEN_EVENT), '00'.repeat(24))).toMatchObject({ ok: false, reason: 'decrypt' });
    expect(decodeDc09Frame(lfcr(GOLDEN_EVENT))).toMatchObject({ ok: false, reason: 'no-key' });
    expect(decodeDc09Frame(lfcr(GOLDEN_EVENT), null)).toMatchObject({ ok: false, reason: 'no-key' });
    expect(decodeDc09Frame(lfcr(GOLDEN_EVENT), 'not a key')).toMatchObject({ ok: false, reason: 'no-key' });
    expect(decodeDc09Frame(lfcr(GOLDEN_EVENT), (h) => (h.account === '080027E62A64' ? KEY_ABCD : undefined)).ok).toBe(true);
  });
});

describe('round trips', () => {
  const keys: [string, string | Uint8Array][] = [
    ['AES-128 hex', randomBytes(16).toString('hex')],
    ['AES-192 hex', randomBytes(24).toString('hex').toUpperCase()],
    ['AES-256 hex', randomBytes(32).toString('hex')],
    ['AES-128 raw', randomBytes(16)],
    ['AES-192 raw', randomBytes(24)],
    ['AES-256 raw', randomBytes(32)],
  ];
  const at = new Date('2026-03-01T12:00:00Z');

  for (const [name, key] of keys) {
    it(`encrypts and decrypts with ${name}`, () => {
      for (const data of ['', '#1234|Nri1/BA01', '#1234|1130 01 015', 'x'.repeat(14), 'y'.repeat(15), 'z'.repeat(300)]) {
        const id = data === '' ? 'NULL' : 'SIA-DCS';
        const frame = encodeDc09Frame({ id, sequence: 42, account: '1234', line: '1', data, xdata: data ? [{ id: 'V', value: 'http://cam/1' }] : [], timestamp: at, key });
        if (!frame.ok) throw new Error(frame.error);
        expect(frame.value.toString('latin1')).toMatch(new RegExp(`^\\n[0-9A-F]{8}"\\*${id}"0042L1#1234\\[[0-9A-F]+\\r$`));
        const back = decodeDc09Frame(frame.value, key);
        expect(back.ok && back.value, `${name} ${data.length}`).toMatchObject({ id, encrypted: true, sequence: 42, data, timestamp: at });
      }
    });
  }
});

describe('padding', () => {
  it('pads the encrypted region to a multiple of 16 with 1 to 16 bytes', () => {
    expect(dc09PadLength(14)).toBe(1);
    expect(dc09PadLength(15)).toBe(16);
    expect(dc09PadLength(0)).toBe(15);
    for (let rest = 0; rest < 64; rest++) {
      const pad = dc09PadLength(rest);
      expect(pad).toBeGreaterThanOrEqual(1);
      expect(pad).toBeLessThanOrEqual(16);
      expect((pad + 1 + rest) % 16).toBe(0);
    }
  });

  it('never uses |, [ or ] as pad bytes, even when the source offers them', () => {
    expect([...dc09Pad(6, () => Buffer.from('|[]|[]'))].some((b) => [0x7c, 0x5b, 0x5d].includes(b))).toBe(false);
    const many = dc09Pad(4096);
    expect([...many].some((b) => [0x7c, 0x5b, 0x5d].includes(b))).toBe(false);
  });

  it('puts the pad first, then |, and varies it from one message to the next', () => {
    const key = randomBytes(16);
    const rest = Buffer.from('#1234|NRP]_12:00:00,03-01-2026');
    const a = encryptDc09Payload(rest, key);
    const b = encryptDc09Payload(rest, key);
    if (!a.ok || !b.ok) throw new Error('encrypt');
    expect(a.value).not.toBe(b.value);
    const d = createDecipheriv('aes-128-cbc', key, Buffer.alloc(16));
    d.setAutoPadding(false);
    const plain = Buffer.concat([d.update(Buffer.from(a.value, 'hex')), d.final()]);
    expect(plain.length % 16).toBe(0);
    const bar = plain.indexOf(0x7c);
    expect(bar).toBe(dc09PadLength(rest.length));
    expect(plain.subarray(bar + 1)).toEqual(rest);
  });

  it('refuses ciphertext that is not whole blocks of hex', () => {
    expect(decryptDc09Payload('', KEY_ABCD).ok).toBe(false);
    expect(decryptDc09Payload('ABC', KEY_ABCD).ok).toBe(false);
    expect(decryptDc09Payload('GG'.repeat(16), KEY_ABCD).ok).toBe(false);
    const body = '"*NULL"0000L0#1234[NOT-HEX-AT-ALL!!';
    const frame = lfcr(`${crcHex(crc16Arc(body))}${body.length.toString(16).padStart(4, '0')}${body}`);
    expect(parseDc09Frame(frame).ok).toBe(true);
    expect(decodeDc09Frame(frame, KEY_ABCD)).toMatchObject({ ok: false, reason: 'format' });
  });
});
