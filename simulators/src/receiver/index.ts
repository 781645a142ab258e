export {
  Dc09ReceiverSimulator,
  accountsProblem,
  type Dc09ReceiverCounters,
  type Dc09ReceiverEndpoints,
  type Dc09ReceiverEvents,
  type Dc09ReceiverOptions,
  type Dc09ReceiverState,
  type Dc09RejectReason,
  type Dc09SupervisionState,
  type Dc09Transport,
  type ReceivedDc09Message,
  type RejectedDc09Frame,
} from './receiver.js';
export { parseReceiverArgs, runReceiver, type ReceiverReadyLine } from './cli.js';
