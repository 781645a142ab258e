import { Agent } from './agent.js';
import { ConfigError, EXIT_CONFIG, loadConfig } from './config.js';
import { createLogger } from './log.js';

/** The agent process: the MQTT tunnel, the store, the bus and its workers. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'invalid configuration', problems: err.problems })}\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { proc: 'agent', serial: config.serial });
  const agent = await Agent.start(config, { log });
  agent.once('exit', (code) => process.exit(code));
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info('signal received', { signal });
    agent.shutdown('shutdown').catch((err: unknown) => {
      log.error('shutdown failed', { err });
      process.exit(1);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // The supervisor is gone (killed outright): no one would restart us, and a new supervisor would start a
  // second agent beside us, so stop rather than linger.
  if (process.send) process.once('disconnect', () => onSignal('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'agent failed', err: String(err) })}\n`);
  // A key file that cannot be used (security/sealed.ts) is not cured by a restart.
  process.exit(err instanceof ConfigError ? EXIT_CONFIG : 1);
});
