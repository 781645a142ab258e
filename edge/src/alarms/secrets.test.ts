import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { ARC_EVENT_TYPES } from '@vigil/protocol/api';
import { Dc09ReceiverSimulator } from '@vigil/simulators';
import type { AlarmPanelConfig, AlarmsConfigureParams, AlarmsStatusResult } from '@vigil/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../log.js';
import { Sealer } from '../security/sealed.js';
import { leaked, rawDatabase, readDirectly, writeDirectly } from '../security/test/at-rest.js';
import { quietLog, tempDir } from '../test/util.js';
import { AlarmRelay } from './relay.js';
import { AlarmStore } from './store.js';
import { callBox, startRelayBox } from './test/box.js';
import { panelFrame, TestPanel } from './test/panel.js';
import { nextEvent, waitUntil } from './test/wait.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const ARC_ACCOUNT = 'ABC123';
const PANEL_KEY = '00112233445566778899AABBCCDDEEFF';
const ARC_KEY = 'F0E1D2C3B4A5968778695A4B3C2D1E0FF0E1D2C3B4A5968778695A4B3C2D1E0F';
const KEYS = [PANEL_KEY, ARC_KEY];

async function startReceiver(): Promise<Dc09ReceiverSimulator> {
  const r = new Dc09ReceiverSimulator({ accounts: { [ARC_ACCOUNT]: ARC_KEY } });
  await r.start();
  cleanups.push(() => r.stop());
  return r;
}

async function dir(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.remove);
  return tmp.dir;
}

function panelConfig(receiver: Dc09ReceiverSimulator, over: Partial<AlarmPanelConfig> = {}): AlarmPanelConfig {
  return {
    account: '1234',
    key: PANEL_KEY,
    arc: { host: '127.0.0.1', port: receiver.endpoints.tcp, transport: 'tcp', account: ARC_ACCOUNT, key: ARC_KEY },
    connectionMode: 'direct_or_server',
    retry: { ackTimeoutMs: 300, attempts: 3, backoffMs: 200, backoffMaxMs: 400 },
    pollingMs: 0,
    eventTypes: [...ARC_EVENT_TYPES],
    ...over,
  };
}

async function startRelay(d: string, opts: { sealer?: Sealer; log?: Logger } = {}): Promise<{ relay: AlarmRelay; store: AlarmStore; stop: () => Promise<void> }> {
  const store = await AlarmStore.open(d, opts.sealer);
  const relay = await AlarmRelay.start({ store, log: opts.log ?? quietLog, listen: { host: '127.0.0.1', port: 0 } });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await relay.stop();
    await store.close();
  };
  cleanups.push(stop);
  return { relay, store, stop };
}

/** A logger that keeps its lines, to see what the relay says (and that no key is in it). */
function recordingLog(lines: string[]): Logger {
  const log: Logger = {
    debug: (msg, fields) => lines.push(JSON.stringify({ msg, ...fields })),
    info: (msg, fields) => lines.push(JSON.stringify({ msg, ...fields })),
    warn: (msg, fields) => lines.push(JSON.stringify({ msg, ...fields })),
    error: (msg, fields) => lines.push(JSON.stringify({ msg, ...fields })),
    child: () => log,
  };
  return log;
}

const storedParams = async (d: string): Promise<AlarmsConfigureParams> =>
  JSON.parse(String(await readDirectly(path.join(d, 'alarms.sqlite'), 'SELECT params FROM relay_config WHERE id = 1'))) as AlarmsConfigureParams;

describe('DC-09 keys at rest in the alarm relay', () => {
  it('stores no key in plain text, and after a restart takes encrypted messages and encrypts towards the receiver', async () => {
    const receiver = await startReceiver();
    const d = await dir();
    const first = await startRelay(d);
    await first.relay.configure(1, { panels: [panelConfig(receiver)] });

    expect(leaked(await rawDatabase(d, 'alarms.sqlite'), KEYS)).toEqual([]);
    const sealed = (await storedParams(d)).panels[0];
    expect(sealed?.key).toMatch(/^v1\./);
    expect(sealed?.arc.key).toMatch(/^v1\./);
    expect(JSON.stringify(await first.relay.status())).not.toMatch(new RegExp(`${PANEL_KEY}|${ARC_KEY}`, 'i'));
    await first.stop();

    const lines: string[] = [];
    const second = await startRelay(d, { log: recordingLog(lines) });
    expect(second.relay.revision).toBe(1);
    const panel = await TestPanel.tcp(second.relay.listening?.tcp ?? 0);
    cleanups.push(() => panel.close());
    const message = nextEvent(receiver, 'message');
    expect(await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001', key: PANEL_KEY }), PANEL_KEY)).toMatchObject({
      id: 'ACK',
      encrypted: true,
    });
    expect((await message)[0]).toMatchObject({ account: ARC_ACCOUNT, encrypted: true, data: `#${ARC_ACCOUNT}|1130 01 001` });
    // A plain message from a panel that has a key is not taken.
    expect(await panel.request(panelFrame({ sequence: 2, data: '#1234|1130 01 002' }))).toMatchObject({ id: 'DUH' });
    await second.stop();
    expect(leaked(await rawDatabase(d, 'alarms.sqlite'), KEYS)).toEqual([]);
    expect(leaked(Buffer.from(lines.join('\n')), KEYS)).toEqual([]);
  });

  it('loads a configuration an older version stored in plain text, and seals it at once leaving no copy behind', async () => {
    const receiver = await startReceiver();
    const d = await dir();
    const file = path.join(d, 'alarms.sqlite');
    // Enough panels for the configuration to spill into overflow pages, whose earlier copies go to the free list.
    const params = (revision: number): AlarmsConfigureParams => ({
      panels: Array.from({ length: 24 }, (_, i) =>
        panelConfig(receiver, { account: i === 0 ? '1234' : `5${String(i).padStart(3, '0')}`, retry: { ackTimeoutMs: 300 + revision, attempts: 3, backoffMs: 200, backoffMaxMs: 400 } }),
      ),
    });
    await writeDirectly(file, [
      ['PRAGMA journal_mode=WAL', []],
      ['CREATE TABLE relay_config (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL, params TEXT NOT NULL, stored_at INTEGER NOT NULL)', []],
      ...[1, 2, 3].map((revision): [string, unknown[]] => [
        'INSERT OR REPLACE INTO relay_config (id, revision, params, stored_at) VALUES (1, ?, ?, ?)',
        [revision, JSON.stringify(params(revision)), Date.now()],
      ]),
    ]);
    expect(leaked(await rawDatabase(d, 'alarms.sqlite'), KEYS)).toEqual(KEYS);

    const { relay, store } = await startRelay(d);
    expect(await store.loadConfig()).toEqual({ revision: 3, params: params(3), unusable: [] });
    expect(relay.revision).toBe(3);
    expect(leaked(await rawDatabase(d, 'alarms.sqlite'), KEYS)).toEqual([]);
    expect((await storedParams(d)).panels[0]?.arc.key).toMatch(/^v1\./);
    // The same configuration pushed again changes nothing; the relay relays with it.
    await relay.configure(3, params(3));
    const panel = await TestPanel.tcp(relay.listening?.tcp ?? 0);
    cleanups.push(() => panel.close());
    const message = nextEvent(receiver, 'message');
    await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001', key: PANEL_KEY }), PANEL_KEY);
    expect((await message)[0]).toMatchObject({ encrypted: true, data: `#${ARC_ACCOUNT}|1130 01 001` });
  });

  it('leaves out a panel whose keys cannot be opened, says so, and runs the others', async () => {
    const receiver = await startReceiver();
    const d = await dir();
    const keyless = panelConfig(receiver, { account: '5678', arc: { ...panelConfig(receiver).arc, key: ARC_KEY } });
    delete keyless.key;
    const full: AlarmsConfigureParams = { panels: [panelConfig(receiver), keyless] };
    const first = await startRelay(d);
    await first.relay.configure(1, full);
    await first.stop();

    // The stored values were sealed under this box's key: another key opens none of them.
    const other = Sealer.fromKey(randomBytes(32));
    const lines: string[] = [];
    const { relay, store } = await startRelay(d, { sealer: other, log: recordingLog(lines) });
    const loaded = await store.loadConfig();
    expect(loaded?.params.panels).toEqual([]);
    expect(loaded?.unusable).toEqual([
      { account: '1234', error: 'panel key cannot be opened: sealed under another key, or changed; ARC key cannot be opened: sealed under another key, or changed' },
      { account: '5678', error: 'ARC key cannot be opened: sealed under another key, or changed' },
    ]);
    expect(lines.filter((l) => l.includes('stored DC-09 keys cannot be opened')).map((l) => (JSON.parse(l) as { panel: string }).panel)).toEqual(['1234', '5678']);
    expect((await relay.status()).panels).toEqual([]);
    expect(leaked(Buffer.from(lines.join('\n')), KEYS)).toEqual([]);

    // A value changed on disk is refused the same way, for that panel only.
    await relay.configure(2, full);
    expect((await relay.status()).panels.map((p) => p.account)).toEqual(['1234', '5678']);
    const stored = await storedParams(d);
    const arc = stored.panels[1]?.arc;
    if (arc?.key) arc.key = `${arc.key.slice(0, -2)}${arc.key.endsWith('AA') ? 'BB' : 'AA'}`;
    await writeDirectly(path.join(d, 'alarms.sqlite'), [['UPDATE relay_config SET params = ? WHERE id = 1', [JSON.stringify(stored)]]]);
    expect((await store.loadConfig())?.unusable.map((u) => u.account)).toEqual(['5678']);
    expect((await store.loadConfig())?.params.panels.map((p) => [p.account, p.key, p.arc.key])).toEqual([['1234', PANEL_KEY, ARC_KEY]]);
  });

  it('keeps keys out of the agent store, the relay store and alarms.status when configured by RPC', async () => {
    const { receiver, cloud, agent } = await startRelayBox(cleanups, { [ARC_ACCOUNT]: null });
    const configured = await callBox(cloud, 'alarms.configure', { panels: [panelConfig(receiver)] });
    expect(configured).toMatchObject({ ok: true, result: { revision: 1, applied: true } });
    const status = await callBox(cloud, 'alarms.status', {});
    expect(status).toMatchObject({ ok: true, result: { panels: [{ account: '1234', arc: { encrypted: true } }] } });
    expect(leaked(Buffer.from(JSON.stringify(status)), KEYS)).toEqual([]);
    const { dataDir } = agent.config;
    expect(leaked(await rawDatabase(dataDir, 'edge.sqlite'), KEYS)).toEqual([]);
    expect(leaked(await rawDatabase(dataDir, 'alarms.sqlite'), KEYS)).toEqual([]);
  });

  it("seals the agent's copy an older version stored in plain text, and the relay runs from it", async () => {
    const { receiver, cloud, lines, agent } = await startRelayBox(cleanups, { [ARC_ACCOUNT]: ARC_KEY }, async (dataDir, r) => {
      await writeDirectly(path.join(dataDir, 'edge.sqlite'), [
        ['PRAGMA journal_mode=WAL', []],
        ['CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL)', []],
        ['INSERT INTO settings VALUES (?, ?, ?)', ['alarms.config', JSON.stringify({ revision: 1, params: { panels: [panelConfig(r)] } }), Date.now()]],
      ]);
      expect(leaked(await rawDatabase(dataDir, 'edge.sqlite'), KEYS)).toEqual(KEYS);
    });
    const { dataDir } = agent.config;
    expect(leaked(await rawDatabase(dataDir, 'edge.sqlite'), KEYS)).toEqual([]);
    const listen = await lines.waitFor((l) => l.event === 'alarm-listen');
    // The agent hands its copy to the relay once the worker is ready.
    await waitUntil(async () => {
      const r = await callBox(cloud, 'alarms.status', {});
      const s = r.ok ? (r.result as AlarmsStatusResult) : null;
      return s?.revision === 1 && s.applied && s.panels[0]?.account === '1234';
    }, 'the relay running the stored configuration');
    const panel = await TestPanel.tcp(listen.tcp as number);
    cleanups.push(() => panel.close());
    const message = nextEvent(receiver, 'message');
    await panel.request(panelFrame({ sequence: 1, data: '#1234|1130 01 001', key: PANEL_KEY }), PANEL_KEY);
    expect((await message)[0]).toMatchObject({ encrypted: true, data: `#${ARC_ACCOUNT}|1130 01 001` });
    expect(leaked(await rawDatabase(dataDir, 'alarms.sqlite'), KEYS)).toEqual([]);
  });
});
