export { loadConfig, ConfigError, type CloudConfig } from './config.js';
export { startCloud, type RunningCloud } from './server.js';
export { grantPackage } from './cloud-storage/packages.js';
export { createBroker, MQTT_WS_PATH, type Broker, type BrokerPolicy } from './broker/broker.js';
