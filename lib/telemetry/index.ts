export * from './types';
export {
  TelemetryDecoder,
  type TelemetryDecoderConfig,
  type DecodeInput,
  type DecodeOutput,
  type DecodedTelemetry,
  type DeviceIdFrom,
  type InnerFormat,
  type SenmlEncoding,
} from './decoder';
export { decodeSenml, parseSenmlCbor } from './senml';
export { decodeLpp, LPP_TYPE_CODES } from './lpp';
export { compileFrame, decodeBinary, BINARY_TYPES, type BinaryFieldSpec, type BinaryType, type CompiledFrame } from './binary';
export { decodeKv, type KvMode } from './kv';
export { decodeJson, compileJsonOptions } from './json';
export { SparkplugSession, parseSparkplugTopic, rebirthRequest, encodeSparkplug, type RebirthRequest } from './sparkplug';
export { compileTopicPattern, DEFAULT_TOPIC_PATTERN, deviceIdFromTopic, matchTopic } from './device-id';
export { decoderConfigFromNode, type TelemetryNodeProperties, type Validation } from './node-config';
export { telemetryMessages, type MessageLike } from './messages';
export { TelemetryValidator, type SchemaSource } from './validate';
