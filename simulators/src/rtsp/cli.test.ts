import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { exited, probe, stopChild } from './test/helpers.js';

describe('vigil-sim rtsp', () => {
  let child: ChildProcess | undefined;
  afterEach(async () => {
    if (child) await stopChild(child);
    child = undefined;
  });

  it('runs as `vigil-sim rtsp` and prints its ready line', async () => {
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const spec = { streams: [{ path: '/cam/main', width: 320, height: 240 }, { path: '/cam/sub', codec: 'mjpeg', width: 160, height: 120 }] };
    const proc = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', cli, 'rtsp', '--spec-json', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    child = proc;
    const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout }).once('line', resolve));
    const ready = JSON.parse(line) as { ready: boolean; rtsp: number; streams: { path: string; url: string; codec: string }[] };
    expect(ready).toMatchObject({ ready: true, streams: [{ path: '/cam/main', codec: 'h264' }, { path: '/cam/sub', codec: 'mjpeg' }] });
    expect(ready.streams[1]!.url).toBe(`rtsp://127.0.0.1:${ready.rtsp}/cam/sub`);
    const { streams } = await probe(ready.streams[1]!.url);
    expect(streams).toEqual([expect.objectContaining({ codec_name: 'mjpeg', width: 160 })]);
    proc.kill('SIGTERM');
    expect(await exited(proc)).toBe(0);
  });
});
