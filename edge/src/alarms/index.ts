export { ALARMS_WORKER, AlarmControl, alarmsConfigProblem, type AlarmControlOptions } from './control.js';
export { ownerSocketPath, RelayOwnership } from './ownership.js';
export { PanelReceiver, UnprocessableMessage, type ListeningAddress, type PanelMessage, type PanelRefusal } from './receiver.js';
export { AlarmRelay, type AlarmRelayOptions, type RelayStatus } from './relay.js';
export { AlarmReports, type AlarmLogReport } from './reports.js';
export { AlarmEventState, AlarmStore, type StoredAlarmEvent } from './store.js';
