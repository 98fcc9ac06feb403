import type { JsonSchema } from '../schema';
import { checkDeviceId } from '../ids';
import { type BinaryFieldSpec, type CompiledFrame, compileFrame, decodeBinary } from './binary';
import { compileTopicPattern, DEFAULT_TOPIC_PATTERN, deviceIdFromTopic, matchTopic, type TopicPattern } from './device-id';
import { decodedRecord, readEnvelope } from './envelopes';
import { CODES, fail } from './fail';
import { isBytes, toBytes, toParsed, toText } from './input';
import { type CompiledJsonOptions, compileJsonOptions, decodeJson, readId } from './json';
import { decodeKv, type KvMode } from './kv';
import { decodeLpp } from './lpp';
import { compilePath, type CompiledPath } from './path';
import { decodeSenml, parseSenmlCbor } from './senml';
import { type RebirthRequest, SparkplugSession, type SparkplugTopic } from './sparkplug';
import { type ByteEncoding, DEFAULT_LIMITS, type Format, isFormat, type Limits, type TelemetryRecord } from './types';
import { type SchemaSource, TelemetryValidator } from './validate';
import { checkMetricCap } from './values';

// One configured decoder: the node builds it once; every message goes through decode().

export type DeviceIdFrom = 'auto' | 'topic' | 'path' | 'fixed' | 'msg';
export type InnerFormat = 'decoded' | 'lpp' | 'binary' | 'json' | 'kv';
export type SenmlEncoding = 'auto' | 'json' | 'cbor';

export interface TelemetryDecoderConfig {
  format: Format;
  /** How string payloads become bytes for lpp, binary, sparkplug and SenML-CBOR. */
  encoding?: ByteEncoding;
  senmlEncoding?: SenmlEncoding;
  mapping?: readonly { metric: string; path: string }[];
  timestampPath?: string;
  binarySpec?: readonly BinaryFieldSpec[];
  kvMode?: KvMode;
  innerFormat?: InnerFormat;
  deviceIdFrom?: DeviceIdFrom;
  topicPattern?: string;
  deviceIdPath?: string;
  fixedDeviceId?: string;
  limits?: Partial<Limits>;
  schema?: JsonSchema;
  schemaFor?: SchemaSource;
}

export interface DecodeInput {
  payload: unknown;
  topic?: unknown;
  /** msg.deviceId, used with deviceIdFrom 'msg' (and by 'auto' when the format names no device). */
  deviceId?: unknown;
  /** msg.format, overriding the configured format. */
  format?: unknown;
  now?: number;
}

export interface DecodedTelemetry extends TelemetryRecord {
  deviceId: string;
}

export interface DecodeOutput {
  records: DecodedTelemetry[];
  rebirth?: RebirthRequest;
  sparkplug?: { topic: SparkplugTopic; seq?: number; unknownAliases?: number[]; skipped?: { name: string; datatype?: number; reason: string }[] };
  lorawan?: { fPort?: number; fCnt?: number };
}

const MAX_TIME_MS = 8.64e15;

/** Formats where a payload path can name the device. */
const PATH_FORMATS = new Set<Format>(['json', 'kv', 'ttn', 'chirpstack']);

export class TelemetryDecoder {
  readonly format: Format;
  readonly limits: Limits;
  private readonly encoding: ByteEncoding;
  private readonly senmlEncoding: SenmlEncoding;
  private readonly kvMode: KvMode;
  private readonly innerFormat: InnerFormat;
  private readonly deviceIdFrom: DeviceIdFrom;
  private readonly topicPattern?: TopicPattern;
  private readonly idPath?: CompiledPath;
  private readonly fixedDeviceId?: string;
  private readonly json: CompiledJsonOptions;
  private readonly timestampKey?: string;
  private readonly frameSpec?: readonly BinaryFieldSpec[];
  private frame?: CompiledFrame;
  private readonly validator: TelemetryValidator;
  readonly sparkplug = new SparkplugSession();

  constructor(config: TelemetryDecoderConfig) {
    if (!isFormat(config.format))
      fail(CODES.config, `format "${String(config.format)}" is not one of json, senml, lpp, binary, kv, sparkplug, ttn, chirpstack`, 'format');
    this.format = config.format;
    this.limits = { ...DEFAULT_LIMITS, ...definedOnly(config.limits) };
    for (const key of ['maxBytes', 'maxRecords', 'maxMetrics'] as const) {
      if (!Number.isInteger(this.limits[key]) || this.limits[key] < 1) fail(CODES.config, `${key} must be a positive integer`, key);
    }
    this.encoding = config.encoding ?? 'auto';
    this.senmlEncoding = config.senmlEncoding ?? 'auto';
    this.kvMode = config.kvMode ?? 'auto';
    this.innerFormat = config.innerFormat ?? 'decoded';
    this.deviceIdFrom = config.deviceIdFrom ?? 'auto';
    if (this.deviceIdFrom === 'topic') this.topicPattern = compileTopicPattern(config.topicPattern ?? '');
    if (this.deviceIdFrom === 'auto') this.topicPattern = compileTopicPattern(config.topicPattern?.trim() ? config.topicPattern : DEFAULT_TOPIC_PATTERN);
    if (this.deviceIdFrom === 'path') {
      if (!PATH_FORMATS.has(this.format)) fail(CODES.config, `a device id path is not available for format ${this.format}`, 'deviceIdPath');
      this.idPath = compilePath(config.deviceIdPath ?? '', 'deviceIdPath');
    }
    if (this.deviceIdFrom === 'fixed') this.fixedDeviceId = checkDeviceId(config.fixedDeviceId, 'fixedDeviceId');
    const timestampPath = config.timestampPath?.trim() ? compilePath(config.timestampPath, 'timestampPath') : undefined;
    this.timestampKey = timestampPath?.join('.');
    const mapping = config.mapping?.length
      ? config.mapping.map((m, i) => {
          const metric = typeof m.metric === 'string' ? m.metric.trim() : '';
          if (metric === '') fail(CODES.config, `mapping row ${i + 1} has no metric name`, `mapping[${i}]`);
          return { metric, path: compilePath(m.path, `mapping[${i}].path`) };
        })
      : undefined;
    this.json = compileJsonOptions({ mapping, timestampPath, idPath: this.format === 'json' ? this.idPath : undefined });
    this.frameSpec = config.binarySpec;
    if (this.format === 'binary' || (this.innerFormat === 'binary' && (this.format === 'ttn' || this.format === 'chirpstack'))) {
      this.frame = compileFrame(config.binarySpec ?? []);
    }
    this.validator = new TelemetryValidator(config.schema, config.schemaFor);
  }

  decode(input: DecodeInput): DecodeOutput {
    const now = input.now ?? Date.now();
    const format = input.format === undefined ? this.format : this.formatOverride(input.format);
    const output: DecodeOutput = { records: [] };
    const records = this.decodeFormat(format, input, now, output);
    const topicId = this.deviceIdFrom === 'topic' ? deviceIdFromTopic(this.topicPattern as TopicPattern, input.topic) : undefined;
    const decoded: DecodedTelemetry[] = [];
    for (const record of records) {
      record.deviceId = checkDeviceId(this.resolveDeviceId(format, record, input, topicId), 'deviceId');
      checkMetricCap(record.payload, this.limits.maxMetrics, record.deviceId);
      if (!(record.timestamp >= 0 && record.timestamp <= MAX_TIME_MS) || !Number.isInteger(record.timestamp)) {
        fail(CODES.badPayload, `time ${record.timestamp} of ${record.deviceId} is outside 1970..275760`, 'timestamp');
      }
      decoded.push(record as DecodedTelemetry);
    }
    output.records = decoded.length > 1 && format !== 'senml' && format !== 'sparkplug' ? mergeByDeviceAndTime(decoded) : decoded;
    if (this.validator.active) {
      for (const record of output.records) this.validator.check(record.deviceId, record.payload);
    }
    return output;
  }

  private formatOverride(value: unknown): Format {
    if (!isFormat(value))
      fail(CODES.config, `msg.format "${String(value).slice(0, 40)}" is not one of json, senml, lpp, binary, kv, sparkplug, ttn, chirpstack`, 'format');
    return value;
  }

  private resolveDeviceId(format: Format, record: TelemetryRecord, input: DecodeInput, topicId: string | undefined): unknown {
    switch (this.deviceIdFrom) {
      case 'topic':
        return topicId;
      case 'fixed':
        return this.fixedDeviceId;
      case 'msg':
        if (input.deviceId === undefined) fail(CODES.noDeviceId, 'msg.deviceId is missing', 'deviceId');
        return input.deviceId;
      case 'path':
        return record.deviceId;
      default:
        if (record.deviceId !== undefined) return record.deviceId;
        if (input.deviceId !== undefined) return input.deviceId;
        return this.autoTopicId(format, input.topic);
    }
  }

  /** `auto` when neither the format nor msg.deviceId names the device: the topic, if it matches the pattern. */
  private autoTopicId(format: Format, topic: unknown): string {
    const pattern = this.topicPattern as TopicPattern;
    const id = typeof topic === 'string' ? matchTopic(pattern, topic) : undefined;
    if (id !== undefined) return id;
    const why =
      typeof topic === 'string' ? `topic "${topic.slice(0, 200)}" does not match ${pattern.pattern}` : `msg.topic is missing (pattern ${pattern.pattern})`;
    return fail(
      CODES.noDeviceId,
      `format ${format} names no device here, msg.deviceId is missing and ${why}; configure where the device id comes from`,
      'deviceId',
    );
  }

  private decodeFormat(format: Format, input: DecodeInput, now: number, output: DecodeOutput): TelemetryRecord[] {
    const limits = this.limits;
    switch (format) {
      case 'json':
        return decodeJson(toParsed(input.payload, limits), now, limits, this.json);
      case 'senml': {
        const pack = this.senmlPack(input.payload);
        return decodeSenml(pack, now, limits, { deviceIdConfigured: this.deviceIdFrom !== 'auto' });
      }
      case 'lpp':
        return [decodeLpp(toBytes(input.payload, this.encoding, limits), now, limits)];
      case 'binary':
        return [decodeBinary(toBytes(input.payload, this.encoding, limits), now, this.compiledFrame())];
      case 'kv':
        return decodeKv(toText(input.payload, limits), now, limits, { mode: this.kvMode, timestampKey: this.timestampKey, idKey: this.idPath?.join('.') });
      case 'sparkplug': {
        const result = this.sparkplug.decode(input.topic, toBytes(input.payload, this.encoding, limits), now, limits);
        output.rebirth = result.rebirth;
        output.sparkplug = { topic: result.topic, seq: result.seq, unknownAliases: result.unknownAliases, skipped: result.skipped };
        return result.records;
      }
      case 'ttn':
      case 'chirpstack':
        return this.decodeEnvelope(format, toParsed(input.payload, limits), now, output);
    }
  }

  private senmlPack(payload: unknown): unknown {
    const limits = this.limits;
    if (this.senmlEncoding === 'cbor') return parseSenmlCbor(toBytes(payload, this.encoding, limits), limits);
    if (this.senmlEncoding === 'auto' && isBytes(payload) && payload.length > 0 && payload[0] !== 0x5b && (payload[0] & 0xe0) === 0x80) {
      return parseSenmlCbor(toBytes(payload, this.encoding, limits), limits); // a CBOR array's first byte is 0x80..0x9f; JSON starts with '['
    }
    return toParsed(payload, limits);
  }

  private decodeEnvelope(format: 'ttn' | 'chirpstack', root: unknown, now: number, output: DecodeOutput): TelemetryRecord[] {
    const envelope = readEnvelope(format, root, now);
    output.lorawan = { fPort: envelope.fPort, fCnt: envelope.fCnt };
    const deviceId = this.idPath ? readId(root, this.idPath) : envelope.deviceId;
    let record: TelemetryRecord;
    if (this.innerFormat === 'decoded') {
      record = decodedRecord(format, envelope, this.limits.maxMetrics);
    } else {
      const field = format === 'ttn' ? 'uplink_message.frm_payload' : 'data';
      if (typeof envelope.frame !== 'string') fail(CODES.badPayload, `uplink has no ${field} to decode`, field);
      const frame = toBytes(envelope.frame, 'base64', this.limits, field);
      const inner = this.innerFormat;
      const records =
        inner === 'lpp'
          ? [decodeLpp(frame, now, this.limits)]
          : inner === 'binary'
            ? [decodeBinary(frame, now, this.compiledFrame())]
            : inner === 'kv'
              ? decodeKv(frame.toString('utf8'), now, this.limits, { mode: this.kvMode })
              : decodeJson(toParsed(frame, this.limits), now, this.limits, this.json);
      if (records.length !== 1) fail(CODES.badPayload, `${field} decoded to ${records.length} records; an uplink carries one`, field);
      record = records[0];
    }
    record.deviceId = deviceId;
    record.timestamp = envelope.timestamp;
    return [record];
  }

  private compiledFrame(): CompiledFrame {
    return (this.frame ??= compileFrame(this.frameSpec ?? []));
  }
}

function definedOnly(limits: Partial<Limits> | undefined): Partial<Limits> {
  const out: Partial<Limits> = {};
  if (limits?.maxBytes !== undefined) out.maxBytes = limits.maxBytes;
  if (limits?.maxRecords !== undefined) out.maxRecords = limits.maxRecords;
  if (limits?.maxMetrics !== undefined) out.maxMetrics = limits.maxMetrics;
  return out;
}

/** One record per device and timestamp: records that share both are merged, later metrics winning. */
function mergeByDeviceAndTime(records: DecodedTelemetry[]): DecodedTelemetry[] {
  const byKey = new Map<string, DecodedTelemetry>();
  for (const record of records) {
    const key = `${record.deviceId}\n${record.timestamp}`;
    const existing = byKey.get(key);
    if (!existing) {
      byKey.set(key, record);
      continue;
    }
    Object.assign(existing.payload, record.payload);
    if (record.units) existing.units = { ...existing.units, ...record.units };
  }
  return byKey.size === records.length ? records : [...byKey.values()];
}
