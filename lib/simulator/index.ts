export { DeviceSimulator, type SimulatorOptions, type SimulatorMessage, type IncomingCommand, type CommandOutcome, type SimulatorCounts } from './simulator';
export {
  encodeReading,
  encodeJson,
  encodeSenml,
  encodeLpp,
  encodeBinary,
  encodeKv,
  binaryFrameSpec,
  SIMULATOR_FORMATS,
  type SimulatorFormat,
  type Reading,
} from './encoders';
export { checkMetrics, nextReading, DEFAULT_METRICS, LPP_KINDS, type MetricSpec, type LppKind } from './metrics';
export { makeRandom, seededRandom, type Random } from './random';
export { TwinDeviceState, SET_DESIRED, DEFAULT_REPORT_TOPIC } from './twin-device';
export { pickFailing, failingFleet, ReplyRecord, type ReplyCounts } from './failing-fleet';
export {
  ProvisioningClient,
  DEFAULT_PROVISION_REQUEST_TOPIC,
  DEFAULT_PROVISION_RESPONSE_TOPIC,
  type EnrolOptions,
  type EnrolState,
} from './provisioning-client';
