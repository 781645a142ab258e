import { describe, expect, it } from 'vitest';
import { decodeDc09Frame, type Dc09FailReason } from './frame.js';
import { buildDc09Ack, buildDc09Duh, buildDc09Nak, dc09AnswerFor, decodeDc09Event, Dc09SequenceCounter, nextDc09Sequence } from './messages.js';
import { checkDc09Timestamp, formatDc09Timestamp, parseDc09Timestamp } from './timestamp.js';

const lfcr = (s: string): string => `\n${s}\r`;
const text = (r: { ok: true; value: Buffer } | { ok: false; error: string }): string => (r.ok ? r.value.toString('latin1') : `error: ${r.error}`);

describe('sequence numbers', () => {
  it('run from 0001 to 9999 and wrap to 0001', () => {
    expect(nextDc09Sequence(1)).toBe(2);
    expect(nextDc09Sequence(9998)).toBe(9999);
    expect(nextDc09Sequence(9999)).toBe(1);
    expect(nextDc09Sequence(0)).toBe(1);
    expect(nextDc09Sequence(-3)).toBe(1);
    expect(nextDc09Sequence(Number.NaN)).toBe(1);
    const c = new Dc09SequenceCounter(9997);
    expect([c.next(), c.next(), c.next(), c.next()]).toEqual([9998, 9999, 1, 2]);
    expect(c.last).toBe(2);
    expect(new Dc09SequenceCounter().next()).toBe(1);
    expect(new Dc09SequenceCounter(123456).next()).toBe(1);
  });
});

describe('timestamps', () => {
  it('format and parse in UTC', () => {
    const at = new Date('2024-02-20T20:59:59.750Z');
    expect(formatDc09Timestamp(at)).toBe('20:59:59,02-20-2024');
    expect(parseDc09Timestamp('20:59:59,02-20-2024')).toEqual({ ok: true, value: new Date('2024-02-20T20:59:59Z') });
    for (const bad of ['', '20:59:59', '24:00:00,01-01-2024', '12:60:00,01-01-2024', '12:00:00,02-30-2024', '12:00:00,13-01-2024', '2:00:00,01-01-2024', '12:00:00,01-01-2024 '])
      expect(parseDc09Timestamp(bad).ok, bad).toBe(false);
    expect(parseDc09Timestamp('12:00:00,02-29-2024').ok).toBe(true);
  });

  it('accept 40 s late to 20 s early, and say by how much', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const at = (s: number): Date => new Date(now.getTime() + s * 1000);
    expect(checkDc09Timestamp(at(0), now)).toEqual({ ok: true, value: 0 });
    expect(checkDc09Timestamp(at(-40), now)).toEqual({ ok: true, value: -40_000 });
    expect(checkDc09Timestamp(at(20), now.getTime())).toEqual({ ok: true, value: 20_000 });
    expect(checkDc09Timestamp(at(-41), now).ok).toBe(false);
    expect(checkDc09Timestamp(at(21), now).ok).toBe(false);
    expect(checkDc09Timestamp(new Date(NaN), now).ok).toBe(false);
  });
});

describe('answers', () => {
  it('builds a NAK byte for byte as published', () => {
    // A NAK logged by a public Python receiver, and one from Swissdotnet's SIA-DC-09 library tests.
    expect(text(buildDc09Nak(new Date('2024-07-30T10:10:18Z')))).toBe(lfcr('E5630025"NAK"0000R0L0A0[]_10:10:18,07-30-2024'));
    expect(text(buildDc09Nak(new Date('2015-04-14T16:09:09Z')))).toBe(lfcr('3C830025"NAK"0000R0L0A0[]_16:09:09,04-14-2015'));
    expect(buildDc09Nak(new Date(NaN)).ok).toBe(false);
  });

  it('builds ACK and DUH echoing the header, as published', () => {
    // Swissdotnet's SIA-DC-09 library tests (that library writes the length in lower case: 002e).
    const ack = buildDc09Ack({ sequence: 1, line: '0', account: '080027E62A64' }, { timestamp: true, now: new Date('2015-04-14T16:07:07Z') });
    expect(text(ack)).toBe(lfcr('2729002E"ACK"0001L0#080027E62A64[]_16:07:07,04-14-2015'));
    expect(text(buildDc09Ack({ sequence: 1, receiver: '5678', line: '1234', account: '080027E62A64' }, { timestamp: true, now: new Date('2015-04-14T16:07:53Z') }))).toBe(
      lfcr('416A0036"ACK"0001R5678L1234#080027E62A64[]_16:07:53,04-14-2015'),
    );
    expect(text(buildDc09Duh({ sequence: 45, receiver: 'C0FFD', line: '1234', account: '080027E62A64' }))).toBe(lfcr('14140023"DUH"0045RC0FFDL1234#080027E62A64[]'));
    expect(text(buildDc09Duh({ sequence: 45, receiver: 'c0ffd', line: '1234', account: '080027E62A64' }))).toBe(lfcr('1F200023"DUH"0045Rc0ffdL1234#080027E62A64[]'));
    expect(text(buildDc09Ack({ sequence: 7, line: '0', account: '1234' }))).toMatch(/^\n[0-9A-F]{8}"ACK"0007L0#1234\[\]\r$/);
  });

  it('encrypts the ACK of an encrypted message with the receiver time', () => {
    const key = '000102030405060708090A0B0C0D0E0F';
    const now = new Date('2026-05-05T05:05:05Z');
    const ack = buildDc09Ack({ sequence: 12, line: '0', account: '1234' }, { key, now });
    expect(text(ack)).toMatch(/^\n[0-9A-F]{8}"\*ACK"0012L0#1234\[[0-9A-F]{64}\r$/);
    if (!ack.ok) return;
    expect(decodeDc09Frame(ack.value, key)).toMatchObject({ ok: true, value: { id: 'ACK', encrypted: true, sequence: 12, timestamp: now } });
  });

  it('refuses to echo fields a decoder would not accept', () => {
    for (const to of [{ sequence: 10000 }, { sequence: -1 }, { sequence: 1, receiver: 'XYZ' }, { sequence: 1, line: '1234567' }, { sequence: 1, account: 'a b' }]) {
      expect(buildDc09Ack(to).ok, JSON.stringify(to)).toBe(false);
      expect(buildDc09Duh(to).ok, JSON.stringify(to)).toBe(false);
    }
    expect(buildDc09Ack({ sequence: 1, account: '1234' }, { key: 'short' }).ok).toBe(false);
  });

  it('maps each refusal to the answer the standard prescribes', () => {
    const expected: Record<Dc09FailReason, string | null> = {
      oversized: null,
      framing: null,
      crc: null,
      length: null,
      format: 'DUH',
      unsupported: 'DUH',
      'no-key': 'NAK',
      decrypt: 'NAK',
    };
    for (const [reason, answer] of Object.entries(expected)) expect(dc09AnswerFor(reason as Dc09FailReason)).toBe(answer);
  });
});

describe('decodeDc09Event', () => {
  it('decodes by ID token', () => {
    expect(decodeDc09Event({ id: 'ADM-CID', data: '#1234|1130 01 015' })).toMatchObject({ ok: true, value: { kind: 'contact-id', code: 130, zone: 15, name: 'Burglary' } });
    expect(decodeDc09Event({ id: 'SIA-DCS', data: '#1234|Nri1/BA01' })).toMatchObject({ ok: true, value: { kind: 'sia', events: [{ code: 'BA', area: '1', address: '01' }] } });
    expect(decodeDc09Event({ id: 'NULL', data: '' })).toEqual({ ok: true, value: null });
    expect(decodeDc09Event({ id: 'ADM-CID', data: '#1234|NBA01' }).ok).toBe(false);
    expect(decodeDc09Event({ id: 'SIA-DCS', data: '#1234|1130 01 015' }).ok).toBe(false);
  });
});
