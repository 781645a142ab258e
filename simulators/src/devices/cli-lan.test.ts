import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SADP_MULTICAST_GROUP, buildSadpProbe, parseSadpProbeMatch } from '@vigil/protocol';
import { parseLanArgs, runLan } from '../cli-core.js';
import type { LanReadyLine } from './host.js';

describe('parseLanArgs', () => {
  it('reads a spec from JSON or a file', () => {
    const spec = { sadpPort: 0, devices: [{ class: 'camera', serial: 'S1', httpPort: 0, flags: { solar: true } }] };
    expect(parseLanArgs(['--spec-json', JSON.stringify(spec)])).toEqual({ ok: true, value: spec });
    const dir = mkdtempSync(join(tmpdir(), 'vigil-lan-'));
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec));
    expect(parseLanArgs(['--spec', file])).toEqual({ ok: true, value: spec });
  });

  it('refuses bad specs', () => {
    for (const argv of [
      [],
      ['--spec', '/nonexistent/spec.json'],
      ['--spec-json', '{'],
      ['--spec-json', '{"devices":[]}'],
      ['--spec-json', '{"devices":[{"class":"toaster"}]}'],
      ['--spec-json', '{"devices":[{"class":"camera","ip":"300.1.1.1"}]}'],
      ['--spec-json', '{"devices":[{"class":"camera","httpPort":70000}]}'],
      ['--spec-json', '{"devices":[{"class":"camera","bogus":1}]}'],
      ['--spec-json', '{"devices":[{"class":"camera","activated":true}]}'],
      ['--spec-json', '{"devices":[{"class":"switch","aggregation":[9,10]}]}'],
      ['--spec-json', '{"devices":[{"class":"camera"}],"extra":1}'],
      ['--spec-json', '{}', '--spec', 'x'],
    ]) {
      expect(parseLanArgs(argv).ok, argv.join(' ')).toBe(false);
    }
  });
});

describe('lan over multicast on the loopback interface', () => {
  it('answers a probe sent to the group', async () => {
    const spec = parseLanArgs(['--spec-json', JSON.stringify({ sadpPort: 0, wsdPort: 0, devices: [{ class: 'camera' }, { class: 'dvr' }] })]);
    if (!spec.ok) throw new Error(spec.error);
    const running = await runLan(spec.value);
    const s = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      s.setMulticastInterface('127.0.0.1');
      const serials = new Set<string>();
      const both = new Promise<void>((resolve) =>
        s.on('message', (msg: Buffer) => {
          const m = parseSadpProbeMatch(msg);
          if (m.ok) serials.add(m.value.serial);
          if (serials.size === 2) resolve();
        }),
      );
      s.send(buildSadpProbe(), running.ready.devices[0]!.sadpPort, SADP_MULTICAST_GROUP);
      await both;
      expect(serials).toEqual(new Set(running.ready.devices.map((d) => d.serial)));
    } finally {
      s.close();
      await running.stop();
    }
  });
});

describe('vigil-sim lan process', () => {
  it('prints one ready line, answers SADP, and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const spec = { sadpPort: 0, wsdPort: 0, multicast: false, devices: [{ class: 'nvr', serial: 'DS-7608NXI-K20820240101CCRRK12345678' }, { class: 'camera' }] };
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', cli, 'lan', '--spec-json', JSON.stringify(spec)], {
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
      const ready = JSON.parse(await first) as LanReadyLine;
      expect(ready.ready).toBe(true);
      expect(ready.devices).toHaveLength(2);
      expect(ready.devices[0]).toMatchObject({
        serial: 'DS-7608NXI-K20820240101CCRRK12345678',
        shortSerial: 'K12345678',
        class: 'nvr',
        ip: '127.0.0.1',
        activated: false,
      });
      expect(ready.devices[0]!.httpPort).toBeGreaterThan(0);
      const s = createSocket('udp4');
      await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
      const got = once(s, 'message') as Promise<[Buffer]>;
      s.send(buildSadpProbe(), ready.devices[0]!.sadpPort, '127.0.0.1');
      const m = parseSadpProbeMatch((await got)[0]);
      s.close();
      expect(m.ok).toBe(true);
      const state = (await (await fetch(`http://127.0.0.1:${ready.devices[1]!.httpPort}/__sim/state`)).json()) as { class: string };
      expect(state.class).toBe('camera');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toEqual([0, null]);
    expect(lines).toHaveLength(1);
  });
});
