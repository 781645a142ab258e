import { IpCameraSimulator, type CameraEndpoints, type IpCameraOptions } from './ip-camera.js';

export interface CameraFleetOptions extends Omit<IpCameraOptions, 'serial' | 'name'> {
  count: number;
  /** Serials are the prefix followed by a four-digit index from 0001 (default `VCAM`). */
  serialPrefix?: string;
  /** Explicit serials, one per camera, instead of derived ones. */
  serials?: readonly string[];
}

/** Serial of the i-th camera (0-based) of a fleet. */
export const fleetSerial = (prefix: string, index: number): string => `${prefix}${String(index + 1).padStart(4, '0')}`;

/**
 * Several cameras in one process. Given ports other than 0 are bases: camera i listens on base + i (and, when an
 * RTSP port is given, announces base + i in its stream URIs).
 */
export class CameraFleet {
  readonly cameras: IpCameraSimulator[];

  constructor(opts: CameraFleetOptions) {
    if (!Number.isInteger(opts.count) || opts.count < 1) throw new RangeError('count must be a positive integer');
    const prefix = opts.serialPrefix ?? 'VCAM';
    const { count, serialPrefix: _prefix, serials, httpPort = 0, discoveryPort = 0, rtspPort, ...common } = opts;
    if (serials !== undefined && serials.length !== count) throw new RangeError('serials must have count entries');
    this.cameras = Array.from({ length: count }, (_, i) => {
      const serial = serials?.[i] ?? fleetSerial(prefix, i);
      return new IpCameraSimulator({
        ...common,
        serial,
        httpPort: httpPort === 0 ? 0 : httpPort + i,
        discoveryPort: discoveryPort === 0 ? 0 : discoveryPort + i,
        ...(rtspPort === undefined ? {} : { rtspPort: rtspPort + i }),
      });
    });
  }

  /** Starts every camera; if one fails, the started ones are stopped again and the error is thrown. */
  async start(): Promise<CameraEndpoints[]> {
    const results = await Promise.allSettled(this.cameras.map((c) => c.start()));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await this.stop();
      throw failed.reason;
    }
    return this.cameras.map((c) => c.endpoints);
  }

  async stop(): Promise<void> {
    await Promise.all(this.cameras.map((c) => c.stop()));
  }
}
