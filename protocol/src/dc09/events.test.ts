import { describe, expect, it } from 'vitest';
import { CONTACT_ID_CODES, contactIdCategory, decodeContactId, describeContactId, encodeContactId } from './contact-id.js';
import { decodeSiaData, encodeSiaData, SIA_CODES } from './sia.js';

describe('Contact ID', () => {
  it('encodes QEEE GG ZZZ strictly', () => {
    expect(encodeContactId({ account: '1234', qualifier: 1, code: 130, partition: 1, zone: 15 })).toEqual({ ok: true, value: '#1234|1130 01 015' });
    expect(encodeContactId({ qualifier: 3, code: 401, partition: 2, zone: 7 })).toEqual({ ok: true, value: '3401 02 007' });
    for (const bad of [
      { qualifier: 2, code: 130, partition: 1, zone: 1 },
      { qualifier: 1, code: 99, partition: 1, zone: 1 },
      { qualifier: 1, code: 1000, partition: 1, zone: 1 },
      { qualifier: 1, code: 130, partition: 100, zone: 1 },
      { qualifier: 1, code: 130, partition: 1, zone: 1000 },
      { qualifier: 1, code: 130.5, partition: 1, zone: 1 },
      { qualifier: 1, code: 130, partition: 1, zone: 1, account: 'xyz' },
    ])
      expect(encodeContactId(bad as never).ok, JSON.stringify(bad)).toBe(false);
  });

  it('decodes the canonical form and what panels send', () => {
    const burglary = { qualifier: 1, code: 130, partition: 1, zone: 15, category: 'burglary', name: 'Burglary', description: 'Burglary' };
    expect(decodeContactId('#1234|1130 01 015')).toEqual({ ok: true, value: { account: '1234', ...burglary } });
    expect(decodeContactId('1234|1130 01 015')).toEqual({ ok: true, value: { account: '1234', ...burglary } });
    expect(decodeContactId('|1130 01 015')).toEqual({ ok: true, value: burglary });
    expect(decodeContactId('1130 01 015')).toEqual({ ok: true, value: burglary });
    expect(decodeContactId('1130  01015')).toEqual({ ok: true, value: burglary });
    // TEKNIM: the DTMF form with message type 18 and a checksum digit.
    expect(decodeContactId('#6827|18160201000D')).toMatchObject({ ok: true, value: { account: '6827', qualifier: 1, code: 602, partition: 1, zone: 0 } });
    for (const bad of ['', '#1234|', '#1234|2130 01 015', '#1234|1130 01 01', '#1234|NBA01', 'a b|1130 01 015', '1'.repeat(200)]) expect(decodeContactId(bad).ok, bad).toBe(false);
  });

  it('names events and reads openings and closings', () => {
    expect(CONTACT_ID_CODES[110]?.name).toBe('Fire');
    expect(CONTACT_ID_CODES[120]?.name).toBe('Panic');
    expect(CONTACT_ID_CODES[137]?.name).toBe('Tamper');
    expect(CONTACT_ID_CODES[144]?.name).toBe('Sensor tamper');
    expect(CONTACT_ID_CODES[301]?.name).toBe('AC loss');
    expect(CONTACT_ID_CODES[302]?.name).toBe('Low system battery');
    expect(CONTACT_ID_CODES[602]?.name).toBe('Periodic test report');
    expect(CONTACT_ID_CODES[401]?.user).toBe(true);
    expect(describeContactId({ qualifier: 1, code: 401 })).toBe('Opening (Open/close by user)');
    expect(describeContactId({ qualifier: 3, code: 401 })).toBe('Closing (Open/close by user)');
    expect(describeContactId({ qualifier: 3, code: 130 })).toBe('Burglary restore');
    expect(describeContactId({ qualifier: 6, code: 301 })).toBe('AC loss (previously reported)');
    expect(describeContactId({ qualifier: 1, code: 999 })).toBe('Event 999');
    expect([contactIdCategory(100), contactIdCategory(110), contactIdCategory(302), contactIdCategory(402), contactIdCategory(602), contactIdCategory(999)]).toEqual([
      'medical',
      'fire',
      'trouble',
      'open-close',
      'test',
      'other',
    ]);
  });
});

describe('SIA DC-03', () => {
  it('encodes blocks strictly, writing modifiers when they change', () => {
    expect(encodeSiaData({ account: '1234', events: [{ code: 'BA', area: '1', address: '01' }] })).toEqual({ ok: true, value: '#1234|Nri1/BA01' });
    expect(encodeSiaData({ events: [{ code: 'RP' }] })).toEqual({ ok: true, value: 'NRP' });
    expect(
      encodeSiaData({ account: '1234', old: true, events: [{ code: 'BA', area: '1', address: '1', text: 'Front door' }, { code: 'BA', area: '1', address: '2' }, { code: 'CL', area: '2', user: '5', address: '5' }] }),
    ).toEqual({ ok: true, value: '#1234|Ori1/BA1^Front door^/BA2/ri2/id5/CL5' });
    for (const bad of [
      { events: [] },
      { events: [{ code: 'ba' }] },
      { events: [{ code: 'BAX' }] },
      { events: [{ code: 'BA', address: '1a' }] },
      { events: [{ code: 'BA', area: '12345' }] },
      { events: [{ code: 'BA', user: 'u' }] },
      { events: [{ code: 'BA', text: 'a/b' }] },
      { events: [{ code: 'BA', text: 'a^b' }] },
      { account: '12', events: [{ code: 'BA' }] },
    ])
      expect(encodeSiaData(bad as never).ok, JSON.stringify(bad)).toBe(false);
  });

  it('decodes what panels send', () => {
    expect(decodeSiaData('#1234|Nri1/BA01')).toEqual({ ok: true, value: { account: '1234', old: false, events: [{ code: 'BA', address: '01', area: '1', name: 'Burglary alarm' }] } });
    expect(decodeSiaData('36214|NRP')).toEqual({ ok: true, value: { account: '36214', old: false, events: [{ code: 'RP', address: '', name: 'Automatic test' }] } });
    expect(decodeSiaData('|Nri1/CL501')).toMatchObject({ ok: true, value: { events: [{ code: 'CL', address: '501', area: '1', name: 'Closing report' }] } });
    expect(decodeSiaData('#123456|Nri1CL0^VX FRONTE ^')).toMatchObject({ ok: true, value: { events: [{ code: 'CL', address: '0', area: '1', text: 'VX FRONTE ' }] } });
    expect(decodeSiaData('#006969|Nri04/OP001NM')).toMatchObject({ ok: true, value: { events: [{ code: 'OP', address: '001', area: '04', extra: 'NM' }] } });
    expect(decodeSiaData('alarm2|Nri1OP0001*Familie*')).toMatchObject({ ok: true, value: { account: 'alarm2', events: [{ code: 'OP', address: '0001', extra: '*Familie*' }] } });
    expect(decodeSiaData('#1|Nti12:30/id7/ri2/BA3^Hall/stairs^/BR3')).toMatchObject({
      ok: true,
      value: {
        events: [
          { code: 'BA', address: '3', area: '2', user: '7', time: '12:30', text: 'Hall/stairs' },
          { code: 'BR', address: '3', area: '2', user: '7', time: '12:30' },
        ],
      },
    });
    expect(decodeSiaData('#1234|Ori1/ZX9')).toEqual({ ok: true, value: { account: '1234', old: true, events: [{ code: 'ZX', address: '9', area: '1' }] } });
    for (const bad of ['', '#1234|', '#1234|Xri1/BA01', '#1234|Nri1', '#1234|N1/BA01', '#1234|1130 01 015', 'N'.repeat(2000)]) expect(decodeSiaData(bad).ok, bad).toBe(false);
  });

  it('names the common codes', () => {
    const names = Object.fromEntries(['BA', 'BR', 'FA', 'PA', 'TA', 'AT', 'YT', 'RP', 'OP', 'CL'].map((c) => [c, SIA_CODES[c]?.name]));
    expect(names).toEqual({
      BA: 'Burglary alarm',
      BR: 'Burglary restoral',
      FA: 'Fire alarm',
      PA: 'Panic alarm',
      TA: 'Tamper alarm',
      AT: 'AC trouble',
      YT: 'System battery trouble',
      RP: 'Automatic test',
      OP: 'Opening report',
      CL: 'Closing report',
    });
    expect(SIA_CODES.OP?.address).toBe('user');
    expect(SIA_CODES.BA?.address).toBe('zone');
  });
});
