export { SparkplugHost, registryId, isControlMetric, type HostEvent, type HostOptions, type MetricInfo, type Scope, type HistoricalValue } from './host';
export { SparkplugCommands, type WriteRequest, type CommandsOptions } from './command';
export { HostConnection, type HostConnectionOptions } from './connection';
export { checkHostId, stateTopic, statePayload, parseState, type HostState } from './state';
export { readValue, readProperties, datatypeName, type SparkplugValue, type DataSetValue, type PropertyMap } from './values';
