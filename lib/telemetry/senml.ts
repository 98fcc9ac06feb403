import { CborReader, type CborValue } from './cbor';
import { CODES, describeType, fail, setMetric, tooManyRecords } from './fail';
import { DEFAULT_LIMITS, type Limits, type TelemetryRecord } from './types';

// RFC 8428 SenML. Base fields carry forward until replaced; each record resolves to name = bn + n,
// time = bt + t (values under 2^28 are relative to now), unit = u or bu, value = bv + v, sum = bs + s.
// Records are grouped into one telemetry record per device and time.

export interface SenmlOptions {
  /** When the node takes the device id from elsewhere, every record's metric is its relative name. */
  deviceIdConfigured: boolean;
}

const RELATIVE_BELOW = 2 ** 28;
const SUPPORTED_VERSION = 10;

/** SenML-CBOR integer labels (RFC 8428 section 6), from -6 to 8, to the JSON labels. */
const INTEGER_LABELS = ['bs', 'bv', 'bu', 'bt', 'bn', 'bver', 'n', 'u', 'v', 'vs', 'vb', 's', 't', 'ut', 'vd'];
const LOWEST_LABEL = -6;
/** Text labels: the JSON labels, and integer labels written as text (JavaScript encoders do so for plain objects). */
const TEXT_LABELS = new Map<string, string>([
  ...INTEGER_LABELS.map((label): [string, string] => [label, label]),
  ...INTEGER_LABELS.map((label, i): [string, string] => [String(i + LOWEST_LABEL), label]),
]);

/** A pack is an array of records, each a map; a decimal fraction (tag 4) inside a record is the deepest item. */
const SENML_CBOR_DEPTH = 4;
/** Array elements and map entries allowed per record: the 15 labels, extension labels and decimal fractions. */
const CBOR_ITEMS_PER_RECORD = 32;

/**
 * Reads a SenML-CBOR pack straight into records with the JSON labels. The record count is checked against
 * the cap from the array header, before any record is decoded; every map entry counts against an item
 * budget; shared references are refused. Only known labels are copied, so no key of the payload ever
 * becomes a property name.
 */
export function parseSenmlCbor(bytes: Uint8Array, limits: Limits = DEFAULT_LIMITS): unknown[] {
  const reader = new CborReader(bytes, { maxDepth: SENML_CBOR_DEPTH, maxItems: limits.maxRecords * CBOR_ITEMS_PER_RECORD });
  const count = reader.arrayHeader('a SenML pack');
  if (count > limits.maxRecords) tooManyRecords(count, limits.maxRecords);
  const indefinite = count < 0;
  const pack: Record<string, unknown>[] = [];
  for (let i = 0; indefinite ? !reader.atBreak() : i < count; i++) {
    if (indefinite && i >= limits.maxRecords) tooManyRecords(i + 1, limits.maxRecords);
    reader.countItem();
    pack.push(readRecord(reader, i));
  }
  reader.end();
  return pack;
}

function readRecord(reader: CborReader, index: number): Record<string, unknown> {
  const entries = reader.mapHeader(index, 2);
  const record: Record<string, unknown> = {};
  for (let e = 0; entries < 0 ? !reader.atBreak() : e < entries; e++) {
    reader.countItem();
    const key = reader.key();
    const label = typeof key === 'number' ? INTEGER_LABELS[key - LOWEST_LABEL] : TEXT_LABELS.get(key);
    const value: CborValue = reader.value(2);
    if (label === undefined) continue; // an extension label this decoder does not use
    if (record[label] !== undefined) fail(CODES.badPayload, `record ${index} has the label ${label} twice`, `[${index}].${label}`);
    record[label] = label === 'vd' && value instanceof Uint8Array ? Buffer.from(value).toString('base64url') : value;
  }
  return record;
}

function trimBaseName(name: string): string {
  let end = name.length;
  while (end > 0 && (name[end - 1] === ':' || name[end - 1] === '/')) end--;
  return name.slice(0, end);
}

function num(record: Record<string, unknown>, label: string, index: number): number | undefined {
  const value = record[label];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    fail(CODES.badPayload, `record ${index} field "${label}" must be a number, got ${describeType(value)}`, `[${index}].${label}`);
  return value;
}

function str(record: Record<string, unknown>, label: string, index: number): string | undefined {
  const value = record[label];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail(CODES.badPayload, `record ${index} field "${label}" must be a string, got ${describeType(value)}`, `[${index}].${label}`);
  return value;
}

export function decodeSenml(pack: unknown, now: number, limits: Limits, options: SenmlOptions): TelemetryRecord[] {
  if (!Array.isArray(pack)) return fail(CODES.badPayload, `a SenML pack must be an array, got ${describeType(pack)}`, 'payload');
  if (pack.length > limits.maxRecords) tooManyRecords(pack.length, limits.maxRecords);
  let bn = '';
  let bt = 0;
  let bu: string | undefined;
  let bv = 0;
  let bs = 0;
  const groups = new Map<string, TelemetryRecord>();
  for (let i = 0; i < pack.length; i++) {
    const record = pack[i] as Record<string, unknown>;
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      fail(CODES.badPayload, `record ${i} must be an object, got ${describeType(record)}`, `[${i}]`);
    }
    if (record.bn !== undefined) bn = str(record, 'bn', i) as string;
    if (record.bt !== undefined) bt = num(record, 'bt', i) as number;
    if (record.bu !== undefined) bu = str(record, 'bu', i);
    if (record.bv !== undefined) bv = num(record, 'bv', i) as number;
    if (record.bs !== undefined) bs = num(record, 'bs', i) as number;
    if (record.bver !== undefined) {
      const version = num(record, 'bver', i) as number;
      if (version > SUPPORTED_VERSION)
        fail(CODES.badPayload, `record ${i} has SenML version ${version}; version ${SUPPORTED_VERSION} or lower is understood`, `[${i}].bver`);
    }
    const n = str(record, 'n', i);
    const u = str(record, 'u', i);
    const t = num(record, 't', i);
    const s = num(record, 's', i);
    const value = readValue(record, i);
    if (value === undefined && s === undefined) {
      if (n === undefined && u === undefined && t === undefined) continue; // a record of base fields only
      fail(CODES.badPayload, `record ${i} has no value (v, vs, vb, vd or s)`, `[${i}]`);
    }
    const time = bt + (t ?? 0);
    const timestamp = Math.round(time < RELATIVE_BELOW ? now + time * 1000 : time * 1000);
    const unit = u ?? bu;
    let deviceId: string | undefined;
    let metric: string;
    if (options.deviceIdConfigured || bn !== '') {
      deviceId = options.deviceIdConfigured ? undefined : trimBaseName(bn);
      metric = n || unit || 'value';
    } else {
      if (!n) fail(CODES.noDeviceId, `record ${i} has neither a base name nor a name to take the device id from`, `[${i}].n`);
      deviceId = trimBaseName(n);
      metric = unit || 'value';
    }
    const key = deviceId === undefined ? String(timestamp) : `${deviceId}\n${timestamp}`;
    let group = groups.get(key);
    if (!group) {
      group = { deviceId, timestamp, payload: {} };
      groups.set(key, group);
    }
    if (value !== undefined) {
      setMetric(group.payload, metric, typeof value === 'number' ? finiteSum(value, bv, 'v', 'bv', i) : value, `[${i}].n`);
      if (unit !== undefined) (group.units ??= {})[metric] = unit;
    }
    if (s !== undefined) {
      const sumName = `${metric}_sum`;
      setMetric(group.payload, sumName, finiteSum(s, bs, 's', 'bs', i), `[${i}].n`);
      if (unit !== undefined) (group.units ??= {})[sumName] = unit;
    }
  }
  if (groups.size === 0) fail(CODES.badPayload, 'SenML pack has no records with a value', 'payload');
  return [...groups.values()];
}

/** value + base, refused when it overflows to Infinity: a metric is always a finite number. */
function finiteSum(value: number, base: number, label: string, baseLabel: string, index: number): number {
  const sum = value + base;
  if (!Number.isFinite(sum)) fail(CODES.badPayload, `record ${index}: ${label} + ${baseLabel} (${value} + ${base}) overflows to ${sum}`, `[${index}].${label}`);
  return sum;
}

function readValue(record: Record<string, unknown>, i: number): number | string | boolean | undefined {
  let value: number | string | boolean | undefined;
  let found = 0;
  if (record.v !== undefined) {
    value = num(record, 'v', i);
    found++;
  }
  if (record.vs !== undefined) {
    value = str(record, 'vs', i);
    found++;
  }
  if (record.vb !== undefined) {
    if (typeof record.vb !== 'boolean') fail(CODES.badPayload, `record ${i} field "vb" must be a boolean, got ${describeType(record.vb)}`, `[${i}].vb`);
    value = record.vb;
    found++;
  }
  if (record.vd !== undefined) {
    value = str(record, 'vd', i);
    found++;
  }
  if (found > 1) fail(CODES.badPayload, `record ${i} has more than one of v, vs, vb, vd`, `[${i}]`);
  return value;
}
