import { DeviceKind } from '@vigil/protocol';

/** NVRs and DVRs: devices with numbered channels and recordings. */
export const RECORDER_KINDS: ReadonlySet<string> = new Set([DeviceKind.nvr, DeviceKind.dvr]);
/** Devices with video: cameras and recorders. */
export const VIDEO_KINDS: ReadonlySet<string> = new Set([DeviceKind.camera, ...RECORDER_KINDS]);
export const isRecorder = (d: { kind: string }): boolean => RECORDER_KINDS.has(d.kind);

/** A downloaded video's file name: the device, its channel (recorders), and when it starts, e.g. `Door-ch2-20261202T101500Z.mp4`. */
export function videoFileName(device: { name: string; kind: string }, channel: number | null, at: Date): string {
  const name = device.name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '') || 'video';
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${name}${channel !== null && isRecorder(device) ? `-ch${channel}` : ''}-${stamp}.mp4`;
}
