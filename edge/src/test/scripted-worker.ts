import { BusTopic } from '../bus.js';
import { BusClient, busOptionsFromEnv, releaseProcess } from '../bus-client.js';

/** A stand-in discovery worker: publishes the rounds given in VIGIL_TEST_ROUNDS, then idles. */
const rounds = JSON.parse(process.env.VIGIL_TEST_ROUNDS ?? '[]') as unknown[][];
const bus = await BusClient.connect(busOptionsFromEnv());
let at = Date.now();
for (const devices of rounds) await bus.publish(BusTopic.discoveryResult, { at: at++, devices });
const stop = (): void => {
  bus.close();
  releaseProcess(stop);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
