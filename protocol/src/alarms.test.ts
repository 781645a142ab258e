import { describe, expect, it } from 'vitest';
import { summarizeAlarmEvent } from './alarms.js';
import { decodeDc09Event, type Dc09Event } from './dc09/index.js';

function event(id: 'ADM-CID' | 'SIA-DCS', data: string): Dc09Event {
  const r = decodeDc09Event({ id, data });
  if (!r.ok || r.value === null) throw new Error(`not an event: ${data}`);
  return r.value;
}

describe('summarizeAlarmEvent', () => {
  it('reads a Contact ID event, its restore, and an opening whose zone field is a user', () => {
    expect(summarizeAlarmEvent(event('ADM-CID', '#1234|1130 01 005'))).toEqual({ code: '130', restore: false, zone: '005', area: '01', description: 'Burglary' });
    expect(summarizeAlarmEvent(event('ADM-CID', '#1234|3130 02 005'))).toMatchObject({ restore: true, description: 'Burglary restore' });
    expect(summarizeAlarmEvent(event('ADM-CID', '#1234|1401 01 007'))).toMatchObject({ code: '401', restore: false, zone: null, area: '01' });
  });

  it('reads the first event of an SIA block with its area, and SIA restores', () => {
    expect(summarizeAlarmEvent(event('SIA-DCS', '#1234|Nri2/BA01'))).toEqual({ code: 'BA', restore: false, zone: '01', area: '2', description: 'Burglary alarm' });
    expect(summarizeAlarmEvent(event('SIA-DCS', '#1234|Nri2/BH01'))).toMatchObject({ code: 'BH', restore: true, zone: '01' });
  });
});
