import {
  ARC_EVENT_TYPES,
  ARC_SERVICE_STATE_LABELS,
  ArcConnectionMode,
  ArcErrorCode,
  ArcServiceState,
  DEFAULT_ARC_TRANSMISSION,
  type ArcDecision,
  type ArcEventType,
  type ArcTransmission,
  type EnableArcServiceBody,
} from '@vigil/protocol/api';
import { AppError } from '../http/errors.js';

/**
 * The state machine of a panel's ARC service (§4.12.2–4.12.4):
 *
 *   off/rejected ──installer enables──► pending ──ARC accepts──► accepted ◄──ARC resumes── suspended
 *                                        │                          └──────ARC suspends──────►┘
 *                                        └──ARC rejects──► rejected
 *   any state ──installer disables, or withdraws the site's authorization──► off
 *
 * Only `accepted` forwards anything. An installer's change of event types on an accepted or suspended panel waits
 * for the ARC's approval, and the current event types stay in force until then.
 */
export interface PanelService {
  state: ArcServiceState;
  arcCompanyId: string | null;
  accountNumber: string | null;
  eventTypes: ArcEventType[];
  pendingEventTypes: ArcEventType[] | null;
  connectionMode: ArcConnectionMode;
  transmission: ArcTransmission;
  armed: boolean;
}

/** A panel that never had the service. */
export const NO_SERVICE: PanelService = {
  state: ArcServiceState.off,
  arcCompanyId: null,
  accountNumber: null,
  eventTypes: [],
  pendingEventTypes: null,
  connectionMode: ArcConnectionMode.directOrServer,
  transmission: DEFAULT_ARC_TRANSMISSION,
  armed: false,
};

export const ENABLE_ACTION = 'Enable ARC Service for Device';
export const EDIT_ACTION = 'Edit ARC Service for Device';
export const DISABLE_ACTION = 'Disable ARC Service for Device';

/** Event types in the list's order, so that equal sets are equal arrays. */
export const canonicalEventTypes = (types: readonly string[]): ArcEventType[] => ARC_EVENT_TYPES.filter((t) => types.includes(t));
const sameTypes = (a: readonly ArcEventType[], b: readonly ArcEventType[]) => a.length === b.length && a.every((t, i) => t === b[i]);

/** Whether enabling starts a new request to the ARC rather than changing the current one. */
export const isNewRequest = (current: PanelService, arcCompanyId: string): boolean =>
  current.state === ArcServiceState.off || current.state === ArcServiceState.rejected || current.arcCompanyId !== arcCompanyId;

/** The installer enables the service for a panel on the site's ARC, or changes its settings. */
export function applySettings(current: PanelService, arcCompanyId: string, body: EnableArcServiceBody): PanelService {
  if (current.armed && body.connectionMode !== current.connectionMode) {
    throw new AppError(409, ArcErrorCode.panelArmed, 'The panel is armed: disarm it before changing how it connects to the ARC.');
  }
  const accountNumber = body.accountNumber.toUpperCase();
  const eventTypes = canonicalEventTypes(body.eventTypes);
  // Transmission settings are the installer's alone: they apply at once, with no approval.
  const settings = { accountNumber, connectionMode: body.connectionMode, transmission: body.transmission ?? current.transmission };
  if (isNewRequest(current, arcCompanyId)) {
    return { ...current, ...settings, state: ArcServiceState.pending, arcCompanyId, eventTypes, pendingEventTypes: null };
  }
  // Nothing was accepted yet: the request itself changes.
  if (current.state === ArcServiceState.pending) return { ...current, ...settings, eventTypes };
  return { ...current, ...settings, pendingEventTypes: sameTypes(eventTypes, current.eventTypes) ? null : eventTypes };
}

/** The installer turns the service off, whatever its state. */
export function disable(current: PanelService): PanelService {
  if (current.state === ArcServiceState.off) throw new AppError(409, ArcErrorCode.stateForbids, 'The ARC service of this panel is off already.');
  return { ...current, state: ArcServiceState.off, pendingEventTypes: null };
}

/** What an ARC may do with a panel entrusted to it, with the operation-log action of each. */
export const DECISIONS: Record<ArcDecision, { from: ArcServiceState; to: ArcServiceState; action: string; refusal: string }> = {
  accept: { from: 'pending', to: 'accepted', action: 'Accept Device Entrusted by Installer', refusal: 'Only panels pending acceptance can be accepted.' },
  reject: { from: 'pending', to: 'rejected', action: 'Reject Device Entrusted by Installer', refusal: 'Only panels pending acceptance can be rejected.' },
  suspend: { from: 'accepted', to: 'suspended', action: 'Suspend ARC Service for Device', refusal: 'Only accepted panels can be suspended.' },
  resume: { from: 'suspended', to: 'accepted', action: 'Resume ARC Service for Device', refusal: 'Only suspended panels can be resumed.' },
};

export function decide(current: PanelService, decision: ArcDecision): PanelService {
  const { from, to, refusal } = DECISIONS[decision];
  if (current.state !== from) {
    throw new AppError(409, ArcErrorCode.stateForbids, `The ARC service of this panel is ${ARC_SERVICE_STATE_LABELS[current.state].toLowerCase()}. ${refusal}`);
  }
  return { ...current, state: to };
}

export const EVENT_TYPE_REVIEWS = {
  approve: 'Approve Event Type Change',
  reject: 'Reject Event Type Change',
} as const;
export type EventTypeReview = keyof typeof EVENT_TYPE_REVIEWS;

/** The ARC approves (the new event types apply) or rejects (the current ones stay) the installer's change. */
export function reviewEventTypes(current: PanelService, review: EventTypeReview): PanelService {
  if (!current.pendingEventTypes) throw new AppError(409, ArcErrorCode.stateForbids, 'No change of event types is waiting for approval.');
  return { ...current, eventTypes: review === 'approve' ? current.pendingEventTypes : current.eventTypes, pendingEventTypes: null };
}
