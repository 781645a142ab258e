import { ARC_EVENT_TYPE_LABELS, type ArcEventType } from '@vigil/protocol/api';

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
