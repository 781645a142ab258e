import { ARC_EVENT_TYPE_LABELS, type ArcEventType, type RelayedPanel } from '@vigil/protocol/api';

/** Where on the panel an event happened: "Zone 005 · Area 01". */
export function alarmPlace(a: { zone: string | null; area: string | null }): string {
  return [a.zone === null ? '' : `Zone ${a.zone}`, a.area === null ? '' : `Area ${a.area}`].filter(Boolean).join(' · ');
}

export const alarmCategories = (types: ArcEventType[]): string => types.map((t) => ARC_EVENT_TYPE_LABELS[t]).join(', ');

/** A transmission time: "85 ms", "1.3 s". */
export function formatTransmission(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** How the site's edge box relays a panel to its ARC right now. */
export const RELAY_PATH_LABELS: Record<RelayedPanel['path'], string> = {
  ok: 'Direct, answering',
  failed: 'Direct failed',
  server: 'Through the server',
  unknown: 'Not checked yet',
};
