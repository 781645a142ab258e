import { alarmEventTypes, decodeDc09Event, DEFAULT_ALARM_TIMING, rewriteDc09Account, type AlarmsConfigureParams } from '@vigil/protocol';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';
import { alarmsConfigProblem } from './control.js';
import { transmissionTiming } from './timing.js';

const typesOf = (id: 'ADM-CID' | 'SIA-DCS', data: string): string[] => {
  const e = decodeDc09Event({ id, data });
  if (!e.ok || !e.value) throw new Error(e.ok ? 'no event' : e.error);
  return alarmEventTypes(e.value);
};

describe('alarm relay rules', () => {
  it('sorts panel events into the ARC event types', () => {
    expect(typesOf('ADM-CID', '#1234|1130 01 015')).toEqual(['alarm']);
    expect(typesOf('ADM-CID', '#1234|1110 01 001')).toEqual(['fire']);
    expect(typesOf('ADM-CID', '#1234|1121 01 002')).toEqual(['panic']);
    expect(typesOf('ADM-CID', '#1234|1137 01 003')).toEqual(['tamper']);
    expect(typesOf('ADM-CID', '#1234|1301 00 000')).toEqual(['fault']);
    expect(typesOf('ADM-CID', '#1234|3401 01 005')).toEqual(['arm_disarm']);
    expect(typesOf('ADM-CID', '#1234|1570 01 004')).toEqual(['bypass']);
    expect(typesOf('ADM-CID', '#1234|1602 00 000')).toEqual(['periodic_test']);
    expect(typesOf('SIA-DCS', '#1234|Nri1/BA01')).toEqual(['alarm']);
    expect(typesOf('SIA-DCS', '#1234|Nri1/FA02/TA03/BA04')).toEqual(['fire', 'tamper', 'alarm']);
    expect(typesOf('SIA-DCS', '#1234|Nri1CL001')).toEqual(['arm_disarm']);
    expect(typesOf('SIA-DCS', '#1234|NRP')).toEqual(['periodic_test']);
    expect(typesOf('SIA-DCS', '#1234|NBB05')).toEqual(['bypass']);
  });

  it('puts the ARC account in the data block', () => {
    expect(rewriteDc09Account('#1234|1130 01 015', 'ABC123')).toBe('#ABC123|1130 01 015');
    expect(rewriteDc09Account('1234|Nri1/BA01', 'ABC123')).toBe('#ABC123|Nri1/BA01');
    expect(rewriteDc09Account('#|NRP', 'ABC123')).toBe('#ABC123|NRP');
    expect(rewriteDc09Account('Nri1/BA01', 'ABC123')).toBe('Nri1/BA01');
  });

  it('computes mean, 95th percentile and the strictest class met', () => {
    const samples = Array.from({ length: 100 }, (_, i) => ({ receivedAt: 0, ackedAt: i < 95 ? 100 : 800_000 }));
    const t = transmissionTiming(samples, DEFAULT_ALARM_TIMING);
    expect(t).toMatchObject({ count: 100, p95Ms: 100, maxMs: 800_000, class: 'D3' });
    expect(t.meanMs).toBe((95 * 100 + 5 * 800_000) / 100);
    expect(transmissionTiming(samples, { windowMs: 1_000, classes: [{ name: 'fast', meanMs: 100, p95Ms: 100 }] }).class).toBeNull();
    expect(transmissionTiming([], DEFAULT_ALARM_TIMING)).toMatchObject({ count: 0, meanMs: null, class: null });
  });

  it('refuses a configuration with a panel twice, a bad host or a backoff ceiling below its start', () => {
    const panel = {
      account: '1234',
      arc: { host: 'arc.example', port: 7000, transport: 'tcp' as const, account: 'ABC123' },
      connectionMode: 'direct_or_server' as const,
      retry: { ackTimeoutMs: 5_000, attempts: 3, backoffMs: 1_000, backoffMaxMs: 60_000 },
      pollingMs: 60_000,
      eventTypes: ['alarm' as const],
    };
    const params = (...panels: AlarmsConfigureParams['panels']): AlarmsConfigureParams => ({ panels });
    expect(alarmsConfigProblem(params(panel, { ...panel, account: '5678' }))).toBeUndefined();
    expect(alarmsConfigProblem(params(panel, { ...panel, account: '1234' }))).toMatch(/listed twice/);
    expect(alarmsConfigProblem(params({ ...panel, arc: { ...panel.arc, host: 'bad host!' } }))).toMatch(/arc\/host/);
    expect(alarmsConfigProblem(params({ ...panel, retry: { ...panel.retry, backoffMaxMs: 10 } }))).toMatch(/backoffMaxMs/);
  });

  it('reads VIGIL_EDGE_ALARM_LISTEN', () => {
    const env = { VIGIL_EDGE_SERIAL: 'EDGE-0001', VIGIL_EDGE_VERIFICATION_CODE: 'ABCdef12', VIGIL_CLOUD_URL: 'https://cloud.example' };
    expect(loadConfig(env).alarmListen).toBeNull();
    expect(loadConfig({ ...env, VIGIL_EDGE_ALARM_LISTEN: '0.0.0.0:7000' }).alarmListen).toEqual({ host: '0.0.0.0', port: 7000 });
    expect(loadConfig({ ...env, VIGIL_EDGE_ALARM_LISTEN: '[::1]:0' }).alarmListen).toEqual({ host: '::1', port: 0 });
    for (const bad of ['7000', 'panel.local:7000', '0.0.0.0:70000']) {
      expect(() => loadConfig({ ...env, VIGIL_EDGE_ALARM_LISTEN: bad })).toThrow(ConfigError);
    }
  });
});
