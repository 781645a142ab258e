import os from 'node:os';
import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from '../config.js';
import { LanTracker, lanWindowMs, sadpRound } from '../lan/index.js';
import { createLogger } from '../log.js';

const localIpv4 = (): string[] =>
  Object.values(os.networkInterfaces())
    .flat()
    .filter((a) => a?.family === 'IPv4')
    .map((a) => a?.address ?? '');

/**
 * The LAN worker (the SADP tool's role): a discovery round every interval, multicast on the LAN interface
 * plus unicast to the configured targets, and the resulting LanSnapshot on the bus after each round.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger(config.logLevel, { proc: 'lan', pid: process.pid });
  const bus = await BusClient.connect(busOptionsFromEnv());
  const enabled = config.lanInterfaceIp !== '' || config.sadpTargets.length > 0;
  const windowMs = lanWindowMs(config.lanIntervalMs);
  log.info(enabled ? 'lan worker ready' : 'lan worker ready, LAN discovery off (no interface, no targets)', {
    interfaceIp: config.lanInterfaceIp,
    targets: config.sadpTargets.length,
    intervalMs: config.lanIntervalMs,
    windowMs,
  });
  if (config.lanInterfaceIp !== '' && !localIpv4().includes(config.lanInterfaceIp)) {
    log.warn('VIGIL_EDGE_LAN_INTERFACE_IP is not an address of this machine: multicast probes may fail', {
      interfaceIp: config.lanInterfaceIp,
    });
  }

  let stopping = false;
  let timer: NodeJS.Timeout | null = null;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (timer) clearTimeout(timer);
    bus.close();
    releaseProcess(stop);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.once('disconnect', stop);
  if (!enabled) return;

  const tracker = new LanTracker();
  let lastErrors = '';
  const round = async (): Promise<void> => {
    const startedAt = Date.now();
    try {
      const r = await sadpRound({ interfaceIp: config.lanInterfaceIp, targets: config.sadpTargets, windowMs });
      // Logged when they change, not every round.
      const errors = r.errors.join('; ');
      if (errors !== lastErrors) {
        if (errors) log.warn('lan probes failed', { errors: r.errors });
        else log.info('lan probes sent again without errors');
        lastErrors = errors;
      }
      const snapshot = tracker.applyRound(r.answers, Date.now());
      if (!stopping) await bus.publish(BusTopic.lanSnapshot, snapshot);
    } catch (err) {
      // Nothing could be sent: the round says nothing about the devices, so it is not applied.
      log.error('lan round failed', { err });
    }
    if (!stopping) timer = setTimeout(() => void round(), Math.max(0, config.lanIntervalMs - (Date.now() - startedAt)));
  };
  await round();
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'lan worker failed', err: String(err) })}\n`);
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});
