import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARM_ACCOUNT, startAlarmSite, type AlarmSite } from '../harness/alarm-site.js';
import { launchChromium, signIn, type ChromiumSession } from '../browser/chromium.js';
import { eventually } from '../harness/process.js';
import { scenarioDir } from '../harness/system.js';

/**
 * Faults on the way from a panel to its ARC, one after another on one site with real processes: the box in its own
 * network namespace, the cloud, the ARC's receiver and the panel. Each step raises alarms on new zones, so that the
 * receiver's record shows for every alarm whether it arrived, how often and in what order; the last test checks
 * the whole record: every alarm exactly once, in the order raised.
 */

const dir = scenarioDir('alarm-faults');
let site: AlarmSite;
let raised = 0;
let browser: ChromiumSession | null = null;

/** Raises alarms on the next `count` zones, one after another as the panel sends them, and returns the zones. */
async function raise(count: number): Promise<number[]> {
  const zones = Array.from({ length: count }, () => ++raised);
  for (const zone of zones) await site.trigger(zone);
  return zones;
}

/** The receiver's first copy of each zone's alarm came from this address (the box's, or the cloud's). */
async function arrivedFrom(zones: number[]): Promise<string[]> {
  const first = new Map<number, string>();
  for (const m of await site.received()) if (!m.duplicate && !first.has(Number(m.event.zone))) first.set(Number(m.event.zone), m.remote.split(':')[0]!);
  return zones.map((z) => first.get(z) ?? 'missing');
}

beforeAll(async () => {
  // Polls every second, so the box notices a path that comes back even with nothing to send.
  site = await startAlarmSite({ dir, transmission: { impulseCountingTimeSec: 1, attempts: 2, pollingRateSec: 1 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await site?.stop();
});

describe('an alarm reaches the ARC receiver exactly once, in order, whatever fails on the way', () => {
  it('goes directly from the box while everything works', async () => {
    const zones = await raise(3);
    await site.waitForZones(raised, 'the first alarms');
    expect(await arrivedFrom(zones)).toEqual(zones.map(() => site.lan.uplink!.edgeIp));
  });

  it('keeps on the box what the ARC did not subscribe to, and tags what it sends with the ARC’s account', async () => {
    // Arming is not among the panel's event types for the ARC: the box takes it from the panel and keeps it.
    // Disarming first ends the alarm the earlier zones left the area in.
    for (const operation of ['disarm', 'away_arm', 'disarm']) await site.panelControl({ keypad: { operation, area: 1, user: 1 } });
    const after = await raise(1);
    await site.waitForZones(raised, 'the alarm after the arming');
    const arming = (await site.panelEvents()).filter((e) => e.reportType === 'arm_disarm');
    expect(arming.length).toBeGreaterThanOrEqual(2);
    expect(arming.every((e) => e.acknowledgedAt !== null)).toBe(true);
    const all = await site.received();
    // Had they been sent, the user number in their zone field would show in the zones too.
    expect(all.filter((m) => m.event.category === 'open-close')).toEqual([]);
    expect(all.every((m) => m.account === ALARM_ACCOUNT && m.data.includes(`#${ALARM_ACCOUNT}|`))).toBe(true);
    expect(await arrivedFrom(after)).toEqual([site.lan.uplink!.edgeIp]);
  });

  it('goes through the cloud while the box cannot reach the receiver, and directly again once it can', async () => {
    await site.cutDirect();
    const viaCloud = await raise(3);
    await site.waitForZones(raised, 'the alarms through the cloud');
    expect((await arrivedFrom(viaCloud)).every((from) => from !== site.lan.uplink!.edgeIp && from !== 'missing')).toBe(true);
    // The installer sees the failed path on the site's ARC service page, read from the box, and its recovery live.
    browser = await launchChromium({ baseURL: site.cloud.url });
    await signIn(browser.page, site.installerLogin);
    await browser.page.goto(`/sites/${site.siteId}/arc`);
    const row = browser.page.getByRole('row').filter({ hasText: 'Hall panel' });
    await row.getByText(/Direct failed|Through the server/).waitFor();

    const restoredAt = Date.now();
    await site.restoreDirect();
    // The box's live polls find the receiver again.
    await eventually(site.lastPollAt, (at) => at > restoredAt, 'a live poll after the path came back');
    await row.getByText('Direct, answering').waitFor();
    await browser.close();
    browser = null;
    const direct = await raise(2);
    await site.waitForZones(raised, 'the alarms after the path came back');
    expect(await arrivedFrom(direct)).toEqual(direct.map(() => site.lan.uplink!.edgeIp));
    const relay = await site.installer.get<{ panels: { path: string; queued: number }[]; timing: { count: number; meanMs: number } }>(`/sites/${site.siteId}/arc/relay`);
    expect(relay.body.panels[0]).toMatchObject({ path: 'ok', queued: 0 });
    expect(relay.body.timing.count).toBeGreaterThanOrEqual(raised);
  });

  it('does not need the cloud for the direct path, and keeps alarms while neither path works', async () => {
    await site.stopCloud();
    const whileCloudDown = await raise(2);
    await site.waitForZones(raised, 'the alarms while the cloud is down');
    expect(await arrivedFrom(whileCloudDown)).toEqual(whileCloudDown.map(() => site.lan.uplink!.edgeIp));

    // No way out at all: the box keeps them, and the cloud delivers them once it is back.
    await site.cutDirect();
    const stranded = await raise(2);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await site.zones()).filter((z) => stranded.includes(z))).toEqual([]);
    await site.startCloud();
    await site.waitForZones(raised, 'the stranded alarms through the cloud once it is back', 60_000);
    await site.restoreDirect();
  });

  it('loses nothing when the relay process is killed with alarms queued', async () => {
    await site.receiverControl({ down: true });
    const queued = await raise(3);
    await site.waitForBox(queued, 'the alarms on the box');
    const relay = site.workerPid('alarms');
    process.kill(relay, 'SIGKILL');
    await site.receiverControl({ up: true });
    await site.waitForZones(raised, 'the queued alarms after the relay restarted', 60_000);
    expect(site.workerPid('alarms')).not.toBe(relay);
    expect((await site.zones()).slice(-3)).toEqual(queued);
  });

  it('loses nothing when the whole box loses power with alarms queued, or just as one arrives', async () => {
    await site.receiverControl({ down: true });
    await site.waitForBox(await raise(3), 'the alarms on the box');
    await site.edge.kill();
    // The last alarm arrives while the box is off: the panel keeps sending it until the box is back.
    await raise(1);
    await site.receiverControl({ up: true });
    await site.restartEdge();
    await site.waitForZones(raised, 'the alarms queued before the power cut', 60_000);

    // A power cut right after the panel's frame reached the box, before or after it was on disk.
    await raise(1);
    await site.edge.kill();
    await site.restartEdge();
    await site.waitForZones(raised, 'the alarm that arrived at the power cut', 60_000);
  });

  it('loses nothing when the receiver restarts in the middle of a burst', async () => {
    const burst = raise(6);
    await new Promise((r) => setTimeout(r, 150));
    await site.receiverControl({ restart: true });
    await burst;
    await site.waitForZones(raised, 'the burst around the receiver restart', 60_000);
  });

  it('delivered every alarm exactly once, in the order raised', async () => {
    const zones = await site.zones();
    expect(zones).toEqual(Array.from({ length: raised }, (_, i) => i + 1));
    // Retransmissions the receiver recognized are allowed; a second alarm under a new sequence number is not.
    const all = await site.received();
    const seqs = new Map<number, Set<number>>();
    for (const m of all.filter((m) => Number(m.event.zone) > 0)) seqs.set(Number(m.event.zone), (seqs.get(Number(m.event.zone)) ?? new Set()).add(m.sequence));
    expect([...seqs.values()].every((s) => s.size === 1)).toBe(true);
    expect(seqs.size).toBe(raised);
  });
});
