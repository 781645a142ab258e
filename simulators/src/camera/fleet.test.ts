import { describe, expect, it } from 'vitest';
import { buildGetCapabilities, buildGetProfiles, parseGetCapabilitiesResponse, parseGetProfilesResponse, usernameTokenHeader } from '@vigil/protocol/onvif';
import { parseCliArgs, runCli } from '../cli-core.js';
import { CameraFleet } from './fleet.js';

const soap = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });

describe('camera options through the fleet and the CLI', () => {
  it('reads --ptz, --encrypted and the stream options, and refuses bad ones', () => {
    const r = parseCliArgs(['camera', '--serial', 'S1', '--ptz', '--encrypted', '--main-codec', 'h265', '--sub-size', '320x180', '--sub-fps', '10']);
    expect(r.ok && r.value.camera).toEqual({
      serial: 'S1',
      httpPort: 0,
      discoveryPort: 0,
      ptz: true,
      encryption: true,
      streams: { main: { codec: 'h265' }, sub: { width: 320, height: 180, fps: 10 } },
    });
    for (const argv of [
      ['camera', '--main-codec', 'vp9'],
      ['camera', '--sub-size', '320'],
      ['camera', '--sub-size', '8x8'],
      ['camera', '--main-fps', '0'],
      ['camera', '--ptz=yes'],
    ]) {
      expect(parseCliArgs(argv).ok, argv.join(' ')).toBe(false);
    }
  });

  it('starts every camera of a fleet with PTZ and encryption when asked', async () => {
    const fleet = new CameraFleet({ count: 2, serialPrefix: 'PTZ', ptz: true, encryption: true, password: 'Secret-1' });
    await fleet.start();
    try {
      for (const cam of fleet.cameras) {
        expect(cam.state).toMatchObject({ ptz: true, encryption: true });
        const caps = parseGetCapabilitiesResponse(await (await soap(cam.deviceServiceUrl, buildGetCapabilities())).text());
        expect(caps.ok && caps.value.ptz).toBe(cam.ptzServiceUrl);
      }
      // Each camera's key is its own.
      expect(fleet.cameras[0]!.encryptionKey).not.toBe(fleet.cameras[1]!.encryptionKey);
    } finally {
      await fleet.stop();
    }
  });

  it('runs the cameras command with the stream options', async () => {
    const cmd = parseCliArgs(['camera', '--serial', 'CLI0001', '--password', 'Secret-1', '--main-codec', 'mjpeg', '--main-size', '640x360']);
    if (!cmd.ok) throw new Error(cmd.error);
    const running = await runCli(cmd.value);
    try {
      const cam = running.ready.cameras[0]!;
      const res = await soap(`http://127.0.0.1:${cam.http}/onvif/media_service`, buildGetProfiles(usernameTokenHeader({ username: 'admin', password: 'Secret-1' })));
      const profiles = parseGetProfilesResponse(await res.text());
      expect(profiles.ok && profiles.value[0]?.videoEncoder).toMatchObject({ encoding: 'JPEG', width: 640, height: 360 });
    } finally {
      await running.stop();
    }
  });
});
