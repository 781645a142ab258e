import { IpCameraSimulator, type IpCameraOptions } from '@vigil/simulators';
import { quietLog } from '../../test/util.js';
import { OnvifCamera } from '../devices.js';
import { MediaSessions } from '../sessions.js';
import { TestIngest } from './ingest.js';

/** What a test undoes once it is over, last first. */
export type Cleanups = (() => Promise<void> | void)[];

/** Small streams keep the camera's encoder light. */
export const SMALL = { width: 320, height: 180, fps: 10, bitrateKbps: 128 };

/** A simulated camera on loopback with small main and sub streams (`opts.streams` fields override them). */
export async function startCamera(cleanups: Cleanups, opts: Partial<IpCameraOptions> = {}): Promise<IpCameraSimulator> {
  const { streams, ...rest } = opts;
  const cam = new IpCameraSimulator({
    serial: `CAM${Math.floor(Math.random() * 1e6)}`,
    ...rest,
    streams: { main: { ...SMALL, ...streams?.main }, sub: { ...SMALL, ...streams?.sub } },
  });
  await cam.start();
  cleanups.push(() => cam.stop());
  return cam;
}

/** The box's view of the camera, logging in with its default account (or `password`). */
export const cameraOf = (cam: IpCameraSimulator, password = 'admin12345'): OnvifCamera =>
  new OnvifCamera({ kind: 'camera', deviceKey: 'k', host: cam.host, port: cam.endpoints.http, serial: cam.identity.serial, username: 'admin', password });

/** A local ingest and the sessions that push to it. */
export async function ingestAndSessions(cleanups: Cleanups) {
  const ingest = await TestIngest.start();
  cleanups.push(() => ingest.close());
  const sessions = new MediaSessions({ log: quietLog });
  cleanups.push(() => sessions.closeAll());
  return { ingest, sessions };
}
