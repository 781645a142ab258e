export {
  AlarmPanel,
  alarmPanelOptionsProblem,
  mergePanelArcSettings,
  type AlarmPanelEndpoints,
  type AlarmPanelEvents,
  type AlarmPanelOptions,
  type AlarmPanelState,
  type PanelArcSettingsInput,
  type PanelAreaSpec,
  type PanelOperationOutcome,
  type PanelZoneSpec,
} from './panel.js';
export {
  ArcReporter,
  PanelDelivery,
  type ArcReporterCounters,
  type ArcReporterEvents,
  type ArcReporterOptions,
  type ArcReporterState,
  type Dc09AttemptResult,
  type Dc09TransmissionRecord,
  type PanelEventRecord,
} from './reporter.js';
export { PanelEventKind, describePanelEvent, panelEventData, panelEventReportType, type PanelEventInput } from './events.js';
export { parsePanelsSpec, runPanels, type PanelsReadyLine, type PanelsSpec } from './cli.js';
