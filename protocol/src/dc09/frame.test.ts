import { describe, expect, it } from 'vitest';
import { crc16Arc, crcHex } from './crc.js';
import {
  DC09_MAX_FRAME_BYTES,
  Dc09FrameSplitter,
  decodeDc09Frame,
  encodeDc09Frame,
  parseDc09Frame,
  wrapDc09Body,
  type Dc09Result,
} from './frame.js';

const lfcr = (s: string): string => `\n${s}\r`;
const reason = <T>(r: Dc09Result<T>): string => (r.ok ? 'ok' : r.reason);

describe('crc16Arc', () => {
  it('matches the CRC-16/ARC catalogue check value', () => {
    // "123456789" -> 0xBB3D is the check value of CRC-16/ARC in the CRC catalogue (reveng).
    expect(crc16Arc('123456789')).toBe(0xbb3d);
    expect(crc16Arc(Buffer.from('123456789'))).toBe(0xbb3d);
    expect(crcHex(0xbb3d)).toBe('BB3D');
    expect(crcHex(0x1f)).toBe('001F');
  });
});

/**
 * Frames sent by real panels and receivers, with the CRC and length they were sent with (none of them
 * computed here):
 * - HIKVISION, PROSEC, OPAX and TEKNIM captures listed in the source comments of a public Go DC-09 receiver;
 * - receiver answers from the test suite of Swissdotnet's SIA-DC-09 library (CombinedStandardTest) and a NAK
 *   logged by a public Python receiver;
 * - panel frames from reported issues kept in pysiaalarm's test cases (eavanvalkenburg/pysiaalarm).
 */
describe('golden frames', () => {
  it('decodes a Hikvision Contact ID periodic test', () => {
    const r = decodeDc09Frame(lfcr('99820040"ADM-CID"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024'));
    expect(r).toEqual({
      ok: true,
      value: {
        id: 'ADM-CID',
        encrypted: false,
        sequence: 1937,
        receiver: '15',
        line: '1',
        account: '21401',
        data: '#21401|1602 00 000',
        xdata: [],
        timestamp: new Date('2024-02-20T20:59:59Z'),
        quirks: [],
      },
    });
  });

  it('decodes SIA-DCS and NULL frames of other panels', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['F68B003B"ADM-CID"0028L0#9757[#9757|1602 00 000]_20:59:45,02-20-2024', { id: 'ADM-CID', sequence: 28, line: '0', account: '9757' }],
      ['B4330036"SIA-DCS"0442L000#36214[36214|NRP]_00:00:00,02-21-2024', { id: 'SIA-DCS', sequence: 442, line: '000', data: '36214|NRP' }],
      ['3F60003C"SIA-DCS"0001L0#51449[#51449|Nri0000/LR]_21:26:19,12-20-2023', { sequence: 1, data: '#51449|Nri0000/LR' }],
      ['7B620035"SIA-DCS"0005L000#3044[3044|NOP1]_00:03:31,12-21-2023', { account: '3044', data: '3044|NOP1' }],
      ['B0970029"NULL"0000L000#0809[]_21:00:01,02-20-2024', { id: 'NULL', sequence: 0, account: '0809', data: '' }],
      ['59630027"NULL"0000L1#699F[]_23:50:57,02-20-2024', { id: 'NULL', account: '699F' }],
      ['39660039"SIA-DCS"0512L1#9764[#9764|Nri1/OP03]_00:41:51,06-13-2000', { timestamp: new Date('2000-06-13T00:41:51Z') }],
    ];
    for (const [frame, fields] of cases) {
      const r = decodeDc09Frame(lfcr(frame));
      expect(r.ok, frame).toBe(true);
      if (r.ok) expect(r.value).toMatchObject(fields);
    }
  });

  it('decodes receiver answers', () => {
    const ack = decodeDc09Frame(lfcr('416A0036"ACK"0001R5678L1234#080027E62A64[]_16:07:53,04-14-2015'));
    expect(ack.ok && ack.value).toMatchObject({ id: 'ACK', sequence: 1, receiver: '5678', line: '1234', account: '080027E62A64' });
    const duh = decodeDc09Frame(lfcr('14140023"DUH"0045RC0FFDL1234#080027E62A64[]'));
    expect(duh.ok && duh.value).toMatchObject({ id: 'DUH', sequence: 45, receiver: 'C0FFD' });
    const nak = decodeDc09Frame(lfcr('E5630025"NAK"0000R0L0A0[]_10:10:18,07-30-2024'));
    expect(nak.ok && nak.value).toMatchObject({ id: 'NAK', sequence: 0, timestamp: new Date('2024-07-30T10:10:18Z') });
    expect(nak.ok && nak.value.account).toBeUndefined();
    const nak2 = decodeDc09Frame(lfcr('3C830025"NAK"0000R0L0A0[]_16:09:09,04-14-2015'));
    expect(nak2.ok).toBe(true);
  });

  it('computes the CRC and length of the standard example body the same way', () => {
    // The body of the DC-09 example `"SIA-DCS"0002R1L232#78919[1234|NFA129][S123Main St., 55123]_11:10:00,10-12-2019`;
    // its CRC (8DC4) and length (004F) are computed here: no published value for this body was found.
    const body = '"SIA-DCS"0002R1L232#78919[1234|NFA129][S123Main St., 55123]_11:10:00,10-12-2019';
    const framed = wrapDc09Body(body);
    expect(framed.ok && framed.value.toString('latin1')).toBe(lfcr(`8DC4004F${body}`));
    const r = decodeDc09Frame(lfcr(`8DC4004F${body}`));
    expect(r.ok && r.value).toMatchObject({ receiver: '1', line: '232', account: '78919', data: '1234|NFA129', xdata: [{ id: 'S', value: '123Main St., 55123' }] });
  });

  it('reproduces published frames byte for byte', () => {
    // CRC and length as sent by the Hikvision panel above.
    const r = encodeDc09Frame({
      id: 'ADM-CID',
      sequence: 1937,
      receiver: '15',
      line: '1',
      account: '21401',
      data: '#21401|1602 00 000',
      timestamp: new Date('2024-02-20T20:59:59Z'),
    });
    expect(r.ok && r.value.toString('latin1')).toBe(lfcr('99820040"ADM-CID"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024'));
  });
});

describe('lenient decoding', () => {
  it('accepts a lower-case CRC, a missing LF and CR, and trailing NULs', () => {
    // TEKNIM capture with a lower-case CRC and the DTMF form of Contact ID.
    const r = decodeDc09Frame('56b8003c"ADM-CID"1569L1#6827[#6827|18160201000D]_00:00:00,02-21-2024\0\0');
    expect(r.ok && r.value).toMatchObject({ account: '6827', data: '#6827|18160201000D' });
    expect(r.ok && r.value.quirks).toEqual(['trailing-nul', 'no-lf', 'no-cr', 'lower-case-crc']);
  });

  it('accepts lower-case hex in the receiver field and the length', () => {
    // From Swissdotnet's SIA-DC-09 library tests.
    const r = decodeDc09Frame(lfcr('7ea80059"SIA-DCS"0000Rc0ffdL1234#080027E62A64[#080027E62A64|NHB0003][E115000]_09:00:13,06-23-2015'));
    expect(r.ok && r.value).toMatchObject({ receiver: 'c0ffd', xdata: [{ id: 'E', value: '115000' }] });
  });

  it('accepts data in a NULL message', () => {
    // pysiaalarm, issue #42.
    const r = decodeDc09Frame('CA2F0038"NULL"0000L0#7890[#0000|0000 00 000]_22:13:29,12-29-2022');
    expect(r.ok && r.value.data).toBe('#0000|0000 00 000');
    expect(r.ok && r.value.quirks).toContain('data-in-null');
  });

  it('accepts a length written in decimal when the CRC holds', () => {
    // pysiaalarm test case adm_cid2: the body is 47 bytes and the panel wrote 0047.
    const r = decodeDc09Frame('57150047"ADM-CID"0247R4F39L4F39#4F39[#4F39|3401 01 057]');
    expect(r.ok && r.value).toMatchObject({ sequence: 247, account: '4F39', data: '#4F39|3401 01 057' });
    expect(r.ok && r.value.quirks).toContain('decimal-length');
    expect(r.ok && r.value.timestamp).toBeUndefined();
  });

  it('accepts non-hex accounts, a missing line and an account only in the data', () => {
    const plain = (body: string): string => lfcr(wrapBody(body));
    const alarm = decodeDc09Frame(plain('"SIA-DCS"0266L0#alarm1[alarm2|Nri1OP0001*Familie*]_16:22:03,06-08-2018'));
    expect(alarm.ok && alarm.value).toMatchObject({ account: 'alarm1', quirks: ['non-hex-account'] });
    const noLine = decodeDc09Frame(plain('"SIA-DCS"0001R1#ABC[#ABC|NOP001]'));
    expect(noLine.ok && noLine.value.quirks).toEqual(['no-line']);
    const noAccount = decodeDc09Frame(plain('"SIA-DCS"4738R0001L0001[#006969|Nri04/OP001NM]'));
    expect(noAccount.ok && noAccount.value.account).toBeUndefined();
  });

  it('reads a NAK that echoes an account instead of the A0 placeholder', () => {
    const r = decodeDc09Frame(lfcr(wrapBody('"NAK"0000R0L0#1234[]_10:10:18,07-30-2024')));
    expect(r.ok && r.value).toMatchObject({ id: 'NAK', line: '0', account: '1234' });
  });

  it('reads multi-byte UTF-8 in extended data, counted in bytes', () => {
    // From a public receiver's README: the CRC and length are over the UTF-8 bytes.
    const r = decodeDc09Frame('B2C20046"ADM-CID"0008L0#777[#777|1401 02 501][SУлица]_09:15:28,07-03-2025');
    expect(r.ok && r.value.xdata).toEqual([{ id: 'S', value: 'Улица' }]);
  });
});

function wrapBody(body: string): string {
  const length = Buffer.byteLength(body, 'latin1').toString(16).toUpperCase().padStart(4, '0');
  return `${crcHex(crc16Arc(body))}${length}${body}`;
}

describe('refusals', () => {
  const good = '99820040"ADM-CID"1937R15L1#21401[#21401|1602 00 000]_20:59:59,02-20-2024';

  it('refuses a wrong CRC, a wrong length and a truncated frame, saying why', () => {
    expect(reason(decodeDc09Frame(lfcr(good.replace('9982', '9983'))))).toBe('crc');
    expect(reason(decodeDc09Frame(lfcr(good.replace('1602', '1601'))))).toBe('crc');
    expect(reason(decodeDc09Frame(lfcr(good.replace('0040', '0041'))))).toBe('length');
    expect(reason(decodeDc09Frame(lfcr(good.slice(0, -5))))).toBe('length');
  });

  it('refuses what is not a frame and what is too long', () => {
    for (const junk of ['', '\n', '\r', 'hello', '\nXYZW0040"NULL"', 'GET / HTTP/1.1\r\n\r\n']) expect(reason(decodeDc09Frame(junk)), JSON.stringify(junk)).toBe('framing');
    expect(reason(decodeDc09Frame(Buffer.alloc(DC09_MAX_FRAME_BYTES + 1, 0x41)))).toBe('oversized');
    expect(reason(decodeDc09Frame(Buffer.alloc(10 * DC09_MAX_FRAME_BYTES, 0x41)))).toBe('oversized');
    const longBody = `"SIA-DCS"0001L0#1234[${'A'.repeat(0x1000)}]`;
    expect(reason(decodeDc09Frame(lfcr(`${crcHex(crc16Arc(longBody))}1000${longBody}`)))).toBe('oversized');
  });

  it('refuses intact frames it cannot read, with the header a DUH echoes', () => {
    const unknown = decodeDc09Frame(lfcr(wrapBody('"RSP"0045RC0FFDL1234#080027E62A64[]')));
    expect(unknown).toMatchObject({ ok: false, reason: 'unsupported', header: { sequence: 45, receiver: 'C0FFD', line: '1234', account: '080027E62A64' } });
    expect(reason(decodeDc09Frame(lfcr(wrapBody('"*NAK"0000R0L0A0[]'))))).toBe('unsupported');
    const badData = decodeDc09Frame(lfcr(wrapBody('"SIA-DCS"0007L0#1234[#1234|NBA1[x]]')));
    expect(badData).toMatchObject({ ok: false, reason: 'format', header: { sequence: 7, line: '0', account: '1234' } });
    expect(reason(decodeDc09Frame(lfcr(wrapBody('"SIA-DCS"0007L0#1234[#1234|NBA1]_25:00:00,01-01-2024'))))).toBe('format');
    expect(reason(decodeDc09Frame(lfcr(wrapBody('"SIA-DCS"7L0#1234[]'))))).toBe('format');
    expect(reason(decodeDc09Frame(lfcr(wrapBody('"SIA-DCS"0007L0#12 34[]'))))).toBe('format');
    expect(reason(decodeDc09Frame(lfcr(wrapBody('"SIA-DCS"0007L0#1234'))))).toBe('format');
    expect(reason(decodeDc09Frame(lfcr(wrapBody('SIA-DCS0007L0#1234[]'))))).toBe('format');
  });
});

describe('encodeDc09Frame', () => {
  const base = { id: 'SIA-DCS', sequence: 1, account: '1234', data: '#1234|Nri1/BA01' } as const;

  it('writes the standard layout and decodes back', () => {
    const r = encodeDc09Frame({ ...base, receiver: '1', line: '232', xdata: [{ id: 'X', value: '012W34.1' }], timestamp: new Date('2026-09-25T14:12:04Z') });
    if (!r.ok) throw new Error(r.error);
    const text = r.value.toString('latin1');
    expect(text).toMatch(/^\n[0-9A-F]{4}0[0-9A-F]{3}"SIA-DCS"0001R1L232#1234\[#1234\|Nri1\/BA01\]\[X012W34\.1\]_14:12:04,09-25-2026\r$/);
    const back = decodeDc09Frame(r.value);
    expect(back.ok && back.value).toMatchObject({ ...base, receiver: '1', line: '232', xdata: [{ id: 'X', value: '012W34.1' }], quirks: [] });
  });

  it('defaults the line to 0 and allows sequence 0000 for NULL only', () => {
    const r = encodeDc09Frame({ id: 'NULL', sequence: 0, account: '1234' });
    expect(r.ok && r.value.toString('latin1')).toContain('"NULL"0000L0#1234[]');
    expect(encodeDc09Frame({ ...base, sequence: 0 }).ok).toBe(false);
  });

  it('refuses anything out of the standard', () => {
    const bad: Record<string, unknown>[] = [
      { sequence: 10000 },
      { sequence: -1 },
      { sequence: 1.5 },
      { account: '12' },
      { account: '12345678901234567' },
      { account: 'ab12' },
      { account: '12G4' },
      { receiver: '1234567' },
      { receiver: 'XY' },
      { line: '' },
      { line: 'L1' },
      { data: 'a]b' },
      { data: '[x' },
      { data: 'caf\u00e9' },
      { data: 'line\nbreak' },
      { xdata: [{ id: 'x', value: '1' }] },
      { xdata: [{ id: 'XY', value: '1' }] },
      { xdata: [{ id: 'X', value: ']' }] },
      { timestamp: new Date(NaN) },
      { id: 'ACK' },
      { id: 'NULL', data: 'x' },
      { key: '00', timestamp: new Date() },
      { key: '000102030405060708090A0B0C0D0E0F' },
      { data: 'A'.repeat(5000) },
    ];
    for (const patch of bad) expect(encodeDc09Frame({ ...base, ...patch } as never).ok, JSON.stringify(patch)).toBe(false);
  });
});

describe('Dc09FrameSplitter', () => {
  const a = encodeDc09Frame({ id: 'NULL', sequence: 0, account: '1234' });
  const b = encodeDc09Frame({ id: 'ADM-CID', sequence: 2, account: '1234', data: '#1234|1130 01 015' });
  if (!a.ok || !b.ok) throw new Error('fixtures');

  it('cuts frames out of arbitrary chunks', () => {
    const stream = Buffer.concat([Buffer.from('junk'), a.value, Buffer.from('\0\0'), b.value, a.value]);
    for (const size of [1, 3, 7, 64, stream.length]) {
      const s = new Dc09FrameSplitter();
      const frames: Buffer[] = [];
      let junk = 0;
      for (let i = 0; i < stream.length; i += size) {
        const out = s.push(stream.subarray(i, i + size));
        frames.push(...out.frames);
        junk += out.junkBytes;
      }
      expect(frames, `chunk ${size}`).toEqual([a.value, b.value, a.value]);
      expect(junk).toBe(6);
      expect(s.pendingBytes).toBe(0);
    }
  });

  it('drops a frame cut short by the next one, and oversized frames', () => {
    const s = new Dc09FrameSplitter();
    const out = s.push(Buffer.concat([b.value.subarray(0, 20), b.value]));
    expect(out.frames).toEqual([b.value]);
    expect(out.truncated).toBe(1);
    const big = s.push(Buffer.concat([Buffer.from('\n'), Buffer.alloc(DC09_MAX_FRAME_BYTES + 10, 0x41)]));
    expect(big).toMatchObject({ frames: [], oversized: 1 });
    expect(s.pendingBytes).toBe(0);
    const tail = s.push(Buffer.concat([Buffer.from('AAAA\r'), a.value]));
    expect(tail.frames).toEqual([a.value]);
  });

  it('keeps an unfinished frame until the rest arrives, and can forget it', () => {
    const s = new Dc09FrameSplitter();
    expect(s.push(b.value.subarray(0, 10)).frames).toEqual([]);
    expect(s.pendingBytes).toBe(10);
    expect(s.reset()).toBe(10);
    expect(s.push(b.value.subarray(10)).frames).toEqual([]);
  });
});

describe('parseDc09Frame', () => {
  it('keeps the data of an encrypted frame as sent', () => {
    const r = parseDc09Frame(lfcr('CAC10064"*NULL"0000RC0FFDL1234#080027E62A64[70D7DC480FA7DC0DE428CE02447BA2E2981A161EA14CB780D2CD917208059E11'));
    expect(r.ok && r.value).toMatchObject({ id: 'NULL', encrypted: true, crc: 0xcac1, payload: '[70D7DC480FA7DC0DE428CE02447BA2E2981A161EA14CB780D2CD917208059E11' });
  });
});
