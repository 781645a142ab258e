import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildGetSystemDateAndTime, parseGetSystemDateAndTimeResponse } from '@vigil/protocol/onvif';
import { parseCliArgs, runCli } from './cli-core.js';

describe('parseCliArgs', () => {
  it('reads the camera command', () => {
    const r = parseCliArgs(['camera', '--serial', 'S1', '--model', 'M', '--http-port', '8080', '--user', 'u', '--password', 'p', '--latency-ms', '30']);
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'cameras',
        count: 1,
        serialPrefix: 'VCAM',
        camera: { serial: 'S1', model: 'M', httpPort: 8080, discoveryPort: 0, username: 'u', password: 'p', latencyMs: 30 },
      },
    });
  });

  it('reads --solar, with no model or a solar one', () => {
    const r = parseCliArgs(['camera', '--solar']);
    expect(r.ok && r.value.camera.solar).toBe(true);
    expect(parseCliArgs(['camera', '--solar', '--model', 'DS-2XS6A25G0-I/CH20S40']).ok).toBe(true);
    expect(parseCliArgs(['camera', '--solar', '--model', 'DS-2CD2143G2-I']).ok).toBe(false);
  });

  it('reads the cameras command', () => {
    const r = parseCliArgs(['cameras', '--count', '3', '--serial-prefix', 'LAB', '--rtsp-port', '8554']);
    expect(r.ok && r.value).toMatchObject({ count: 3, serialPrefix: 'LAB', camera: { rtspPort: 8554 } });
  });

  it('refuses bad arguments', () => {
    for (const argv of [
      [],
      ['nvr'],
      ['camera', '--bogus'],
      ['camera', '--rtsp-port', '70000'],
      ['camera', '--http-port', '70000'],
      ['camera', '--latency-ms', '-5'],
      ['camera', '--count', '2'],
      ['cameras'],
      ['cameras', '--count', '0'],
      ['cameras', '--count', '2', '--serial', 'X'],
      ['camera', 'extra'],
    ]) {
      expect(parseCliArgs(argv).ok, argv.join(' ')).toBe(false);
    }
  });

  it('starts cameras with derived serials and stops them', async () => {
    const cmd = parseCliArgs(['cameras', '--count', '2', '--serial-prefix', 'LAB']);
    if (!cmd.ok) throw new Error(cmd.error);
    const running = await runCli(cmd.value);
    try {
      expect(running.ready.cameras.map((c) => c.serial)).toEqual(['LAB0001', 'LAB0002']);
      expect(new Set(running.ready.cameras.flatMap((c) => [c.http, c.discovery])).size).toBe(4);
    } finally {
      await running.stop();
    }
  });
});

describe('vigil-sim process', () => {
  it('prints one ready line, serves, and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', cli, 'cameras', '--count', '2'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines: string[] = [];
    const rl = createInterface({ input: child.stdout });
    const first = new Promise<string>((resolve) => rl.once('line', resolve));
    rl.on('line', (l) => lines.push(l));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const ready = JSON.parse(await first) as { ready: boolean; cameras: { serial: string; http: number; discovery: number; host: string }[] };
      expect(ready.ready).toBe(true);
      expect(ready.cameras).toHaveLength(2);
      expect(ready.cameras[1]).toMatchObject({ serial: 'VCAM0002', host: '127.0.0.1' });
      const cam = ready.cameras[0]!;
      const res = await fetch(`http://127.0.0.1:${cam.http}/onvif/device_service`, { method: 'POST', body: buildGetSystemDateAndTime() });
      expect(parseGetSystemDateAndTimeResponse(await res.text()).ok).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toEqual([0, null]);
    expect(lines).toHaveLength(1);
  });
});
