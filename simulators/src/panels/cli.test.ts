import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePanelsArgs } from '../cli-core.js';
import type { AlarmPanelState } from './panel.js';
import type { PanelsReadyLine } from './cli.js';
import { nextMessages, PanelLab } from './testing.js';

const lab = new PanelLab();
afterEach(() => lab.close());

describe('vigil-sim panels', () => {
  it('parses its spec', () => {
    const spec = { panels: [{ model: 'AX PRO', serial: 'Q12345678', zones: [{ type: 'fire' }], arc: { enabled: true, accountCode: '1234', receiver: { host: '127.0.0.1', port: 7070 } } }] };
    expect(parsePanelsArgs(['--spec-json', JSON.stringify(spec)])).toEqual({ ok: true, value: spec });
    for (const bad of [
      '{',
      '{"panels":[]}',
      '{"panels":[{"model":"AX 9000"}]}',
      '{"panels":[{"model":"AX PRO","bogus":1}]}',
      '{"panels":[{"model":"AX PRO","zones":[{"type":"laser"}]}]}',
      '{"panels":[{"model":"AX PRO","zones":[{"area":2}]}]}',
      '{"panels":[{"model":"AX PRO","arc":{"enabled":true}}]}',
      '{"panels":[{"model":"AX PRO","arc":{"attempts":0}}]}',
      '{"panels":[{"model":"AX PRO","serial":"short"}]}',
      '{"panels":[{"model":"AX PRO","platformUrl":"mqtt://x"}]}',
    ]) {
      expect(parsePanelsArgs(['--spec-json', bad]).ok, bad).toBe(false);
    }
    expect(parsePanelsArgs([])).toEqual({ ok: false, error: 'panels needs exactly one of --spec and --spec-json' });
  });

  it('prints one ready line, runs the panels, and exits 0 on SIGTERM', async () => {
    const r = await lab.receiver();
    const spec = {
      panels: [
        { model: 'AX HOME', serial: 'Q12345678' },
        { model: 'AX PRO', verificationCode: 'ABCDEF', arc: { enabled: true, accountCode: 'BEEF', receiver: { host: '127.0.0.1', port: r.endpoints.tcp } } },
      ],
    };
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'source', cli, 'panels', '--spec-json', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const first = new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    try {
      const ready = JSON.parse(await first) as PanelsReadyLine;
      expect(ready).toMatchObject({
        ready: true,
        panels: [
          { model: 'AX HOME', serial: 'Q12345678', shortSerial: 'Q12345678', host: '127.0.0.1', verificationCode: null },
          { model: 'AX PRO', verificationCode: 'ABCDEF' },
        ],
      });
      const pro = `http://127.0.0.1:${ready.panels[1]!.httpPort}`;
      const alarm = nextMessages(r, 1);
      const res = await fetch(`${pro}/__sim/control`, { method: 'POST', body: JSON.stringify({ fire: true }) });
      expect(res.status).toBe(200);
      expect((await alarm)[0]).toMatchObject({ account: 'BEEF', data: '#BEEF|1110 01 000' });
      const state = (await (await fetch(`${pro}/__sim/state`)).json()) as AlarmPanelState;
      expect(state.areas[0]).toMatchObject({ state: 'alarm', siren: true });
    } finally {
      child.kill('SIGTERM');
    }
    const [code] = await exited;
    expect(code, stderr).toBe(0);
  });
});
