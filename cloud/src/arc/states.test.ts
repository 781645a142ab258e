import { describe, expect, it } from 'vitest';
import type { EnableArcServiceBody } from '@vigil/protocol/api';
import { applySettings, decide, disable, isNewRequest, NO_SERVICE, reviewEventTypes, type PanelService } from './states.js';

const ARC = '00000000-0000-4000-8000-00000000a7c0';
const OTHER_ARC = '00000000-0000-4000-8000-00000000a7c1';
const request: EnableArcServiceBody = { accountNumber: '1a2b', eventTypes: ['periodic_test', 'alarm'], connectionMode: 'direct_or_server' };
const accepted: PanelService = { ...applySettings(NO_SERVICE, ARC, request), state: 'accepted' };

describe('a panel’s ARC service', () => {
  it('starts pending acceptance, with the account upper-case and the event types in the list’s order', () => {
    expect(applySettings(NO_SERVICE, ARC, request)).toEqual({
      ...NO_SERVICE,
      state: 'pending',
      arcCompanyId: ARC,
      accountNumber: '1A2B',
      eventTypes: ['alarm', 'periodic_test'],
    });
  });

  it('goes through accept, suspend and resume, or reject, only from the right states', () => {
    const pending = applySettings(NO_SERVICE, ARC, request);
    expect(decide(pending, 'accept').state).toBe('accepted');
    expect(decide(pending, 'reject').state).toBe('rejected');
    expect(decide(decide(accepted, 'suspend'), 'resume').state).toBe('accepted');
    expect(() => decide(pending, 'suspend')).toThrow('The ARC service of this panel is pending acceptance. Only accepted panels can be suspended.');
    expect(() => decide(accepted, 'accept')).toThrow(/Only panels pending acceptance can be accepted/);
    expect(() => decide(accepted, 'resume')).toThrow(/Only suspended panels can be resumed/);
    expect(() => decide(NO_SERVICE, 'accept')).toThrow(/is off/);
  });

  it('is turned off by the installer from any state but off', () => {
    for (const state of ['pending', 'accepted', 'suspended', 'rejected'] as const) {
      expect(disable({ ...accepted, state, pendingEventTypes: ['fire'] })).toMatchObject({ state: 'off', pendingEventTypes: null });
    }
    expect(() => disable(NO_SERVICE)).toThrow(/off already/);
  });

  it('is a new request after a rejection, when off, or for another ARC; a pending one is changed in place', () => {
    expect(isNewRequest(NO_SERVICE, ARC)).toBe(true);
    expect(isNewRequest({ ...accepted, state: 'rejected' }, ARC)).toBe(true);
    expect(isNewRequest(accepted, OTHER_ARC)).toBe(true);
    expect(isNewRequest(accepted, ARC)).toBe(false);
    const pending = applySettings(NO_SERVICE, ARC, request);
    expect(applySettings(pending, ARC, { ...request, eventTypes: ['fire'] })).toMatchObject({ state: 'pending', eventTypes: ['fire'], pendingEventTypes: null });
    expect(applySettings({ ...accepted, state: 'rejected' }, ARC, request).state).toBe('pending');
  });

  it('keeps the accepted event types in force while a change waits for the ARC, which approves or rejects it', () => {
    const changed = applySettings(accepted, ARC, { ...request, eventTypes: ['fire', 'alarm'], accountNumber: 'FF01' });
    expect(changed).toMatchObject({ state: 'accepted', accountNumber: 'FF01', eventTypes: ['alarm', 'periodic_test'], pendingEventTypes: ['alarm', 'fire'] });
    expect(reviewEventTypes(changed, 'approve')).toMatchObject({ eventTypes: ['alarm', 'fire'], pendingEventTypes: null });
    expect(reviewEventTypes(changed, 'reject')).toMatchObject({ eventTypes: ['alarm', 'periodic_test'], pendingEventTypes: null });
    expect(() => reviewEventTypes(accepted, 'approve')).toThrow(/No change of event types/);
    // Asking for the set in force again withdraws the change; suspension keeps a change waiting.
    expect(applySettings(changed, ARC, request).pendingEventTypes).toBeNull();
    expect(decide(changed, 'suspend').pendingEventTypes).toEqual(['alarm', 'fire']);
  });

  it('refuses a new connection mode while the panel is armed, but not other changes', () => {
    const armed = { ...accepted, armed: true };
    expect(() => applySettings(armed, ARC, { ...request, connectionMode: 'server_only' })).toThrow(/disarm it/);
    expect(applySettings(armed, ARC, { ...request, accountNumber: 'ABC' }).accountNumber).toBe('ABC');
    expect(applySettings(accepted, ARC, { ...request, connectionMode: 'server_only' }).connectionMode).toBe('server_only');
  });
});
