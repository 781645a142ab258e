import { describe, expect, it } from 'vitest';
import { defaultPanelArcSettings, panelArcSettingsProblem, panelModelOf, panelOperationRefusal, PANEL_OPERATIONS, type PanelArcSettings, type PanelModel } from '../panels.js';
import {
  applyPanelArcSettings,
  buildPanelArcSettings,
  buildPanelAreaStatusList,
  buildPanelCapabilities,
  buildPanelHostStatus,
  buildPanelZoneStatusList,
  panelArcSettingsDoc,
  panelControlPath,
  parsePanelArcSettings,
  parsePanelAreaStatusList,
  parsePanelCapabilities,
  parsePanelControlPath,
  parsePanelHostStatus,
  parsePanelZoneStatusList,
  type PanelAreaStatus,
  type PanelZoneStatus,
} from './index.js';

const KEY = '000102030405060708090A0B0C0D0E0F';

const arc = (over: Partial<PanelArcSettings> = {}): PanelArcSettings => ({
  ...defaultPanelArcSettings(),
  enabled: true,
  accountCode: '1234',
  receiver: { host: '192.168.1.20', port: 7070, transport: 'tcp' },
  impulseCountingTimeSec: 0.2,
  ...over,
});

describe('panel models', () => {
  it('knows the models by name, including the manual spelling', () => {
    expect(panelModelOf('ax pro')).toBe('AX PRO');
    expect(panelModelOf('AX HYBIRD PRO')).toBe('AX HYBRID PRO');
    expect(panelModelOf('AXHOME')).toBe('AX HOME');
    expect(panelModelOf('AX 9000')).toBeNull();
  });

  it('refuses stay arm on AX HOME, silence on AX HYBRID PRO and everything on AX HUB and AX HYBRID', () => {
    const refused = (model: PanelModel) => PANEL_OPERATIONS.filter((op) => panelOperationRefusal(model, op) !== null);
    expect(refused('AX PRO')).toEqual([]);
    expect(refused('AX HOME')).toEqual(['stay_arm']);
    expect(refused('AX HYBRID PRO')).toEqual(['silence']);
    expect(refused('AX HUB')).toEqual(PANEL_OPERATIONS);
    expect(refused('AX HYBRID')).toEqual(PANEL_OPERATIONS);
    expect(panelOperationRefusal('AX HUB', 'disarm')?.reason).toBe('controlNotSupported');
    // The panel's own keypad is not the platform.
    expect(panelOperationRefusal('AX HUB', 'away_arm', false)).toBeNull();
    expect(panelOperationRefusal('AX HOME', 'stay_arm', false)?.reason).toBe('stayArmNotSupported');
  });
});

describe('panel ARC settings', () => {
  it('takes complete settings and names what is wrong', () => {
    expect(panelArcSettingsProblem(arc())).toBeNull();
    expect(panelArcSettingsProblem(defaultPanelArcSettings())).toBeNull();
    expect(panelArcSettingsProblem(arc({ accountCode: '' }))).toMatch(/account code/);
    expect(panelArcSettingsProblem(arc({ receiver: { host: '', port: 7070, transport: 'tcp' } }))).toMatch(/neither an IP address nor a domain name/);
    expect(panelArcSettingsProblem(arc({ receiver: { host: 'arc.example', port: 0, transport: 'tcp' } }))).toMatch(/port/);
    expect(panelArcSettingsProblem(arc({ key: 'short' }))).toMatch(/key/);
    expect(panelArcSettingsProblem(arc({ attempts: 0 }))).toMatch(/attempts/);
    expect(panelArcSettingsProblem(arc({ impulseCountingTimeSec: 0 }))).toMatch(/impulse/);
    expect(panelArcSettingsProblem(arc({ pollingRateSec: -1 }))).toMatch(/polling/);
    expect(panelArcSettingsProblem(arc({ reportTypes: ['alarm', 'alarm'] }))).toMatch(/twice/);
  });

  it('round-trips through XML without ever showing the key', () => {
    const settings = arc({ protocol: 'SIA-DCS', key: KEY, pollingRateSec: 90, periodicTest: true, periodicTestIntervalSec: 3600, reportTypes: ['alarm', 'fault'] });
    const xml = buildPanelArcSettings(panelArcSettingsDoc(settings));
    expect(xml).not.toContain(KEY);
    const doc = parsePanelArcSettings(xml);
    expect(doc).toEqual({ ok: true, value: { ...panelArcSettingsDoc(settings) } });
    expect(doc.ok && doc.value.encrypted).toBe(true);
  });

  it('sets, keeps and removes the key on PUT', () => {
    const plain = arc();
    const withKey = applyPanelArcSettings(plain, { ...panelArcSettingsDoc(plain), encrypted: true, key: KEY });
    expect(withKey).toMatchObject({ ok: true, value: { key: KEY } });
    const kept = applyPanelArcSettings(withKey.ok ? withKey.value : plain, { ...panelArcSettingsDoc(plain), encrypted: true, attempts: 5 });
    expect(kept).toMatchObject({ ok: true, value: { key: KEY, attempts: 5 } });
    expect(applyPanelArcSettings(plain, { ...panelArcSettingsDoc(plain), encrypted: false })).toMatchObject({ ok: true, value: { key: null } });
    expect(applyPanelArcSettings(plain, { ...panelArcSettingsDoc(plain), encrypted: true })).toEqual({ ok: false, error: 'a key is needed to encrypt' });
    expect(applyPanelArcSettings(plain, { ...panelArcSettingsDoc(plain), accountCode: 'NOPE' }).ok).toBe(false);
  });

  it('refuses malformed documents', () => {
    const xml = buildPanelArcSettings(panelArcSettingsDoc(arc()));
    expect(parsePanelArcSettings(xml.replace('<impulseCountingTime>0.2<', '<impulseCountingTime>soon<')).ok).toBe(false);
    expect(parsePanelArcSettings(xml.replace('<eventType>alarm<', '<eventType>party<')).ok).toBe(false);
    expect(parsePanelArcSettings(xml.replace('<protocol>ADM-CID<', '<protocol>X-10<')).ok).toBe(false);
    expect(parsePanelArcSettings('<Nope/>').ok).toBe(false);
  });
});

describe('panel status and control', () => {
  it('round-trips capabilities and status lists', () => {
    const caps = { model: 'AX HOME' as const, control: true, stayArm: false, silence: true, verificationCode: false, configure: true, upgradePin: false, templates: false, areas: 2, zones: 7 };
    expect(parsePanelCapabilities(buildPanelCapabilities(caps))).toEqual({ ok: true, value: caps });
    const areas: PanelAreaStatus[] = [
      { id: 1, name: 'Ground <floor>', arming: 'away', state: 'alarm', alarm: true, siren: false, entryDelay: false },
      { id: 2, name: 'Garage', arming: 'disarmed', state: 'disarmed', alarm: false, siren: false, entryDelay: false },
    ];
    expect(parsePanelAreaStatusList(buildPanelAreaStatusList(areas))).toEqual({ ok: true, value: areas });
    const zones: PanelZoneStatus[] = [{ id: 3, name: 'Smoke', area: 1, type: 'fire', active: true, alarm: true, tamper: false, stayBypass: false }];
    expect(parsePanelZoneStatusList(buildPanelZoneStatusList(zones))).toEqual({ ok: true, value: zones });
    expect(parsePanelZoneStatusList(buildPanelZoneStatusList([])).ok).toBe(true);
    const host = { acPowerLoss: true, batteryLow: false, tamper: false, arcEnabled: true, arcQueued: 3, arcCommFailure: true };
    expect(parsePanelHostStatus(buildPanelHostStatus(host))).toEqual({ ok: true, value: host });
  });

  it('builds and reads control paths', () => {
    for (const op of PANEL_OPERATIONS) {
      const path = panelControlPath(op, 2);
      expect(parsePanelControlPath(new URL(path, 'http://panel'))).toEqual({ ok: true, value: { op, area: 2 } });
    }
    expect(panelControlPath('stay_arm', 1)).toBe('/ISAPI/SecurityCP/control/arm/1?ways=stay');
    expect(parsePanelControlPath(new URL('http://panel/ISAPI/SecurityCP/control/arm/1?ways=night'))?.ok).toBe(false);
    expect(parsePanelControlPath(new URL('http://panel/ISAPI/SecurityCP/status/zones'))).toBeNull();
  });
});
