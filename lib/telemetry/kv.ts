import { isHostileKey } from '../safe';
import { CODES, fail, setMetric, tooManyRecords } from './fail';
import type { Limits, MetricValue, Metrics, TelemetryRecord } from './types';
import { toTimestampMs } from './values';

// `kv`: `t=21.5,h=40` lines (one record a line), or CSV with a header row (one record a row).

export type KvMode = 'auto' | 'pairs' | 'csv';

export interface KvOptions {
  mode: KvMode;
  /** Key or column holding the time; kept out of the metrics. */
  timestampKey?: string;
  /** Key or column holding the device id; kept out of the metrics. */
  idKey?: string;
}

const LINES = /\r?\n/;
const PAIR_SEPARATORS = /[,;&\s]+/;

export function parseScalar(text: string): MetricValue {
  const trimmed = text.trim();
  if (trimmed === 'true') return true;
  if (trimmed === 'false') return false;
  if (trimmed !== '') {
    const n = Number(trimmed);
    if (Number.isFinite(n)) return n;
  }
  if (trimmed.length >= 2 && trimmed[0] === '"' && trimmed[trimmed.length - 1] === '"') return trimmed.slice(1, -1).replace(/""/g, '"');
  return trimmed;
}

export function decodeKv(text: string, now: number, limits: Limits, options: KvOptions): TelemetryRecord[] {
  const lines = text.split(LINES).filter((line) => line.trim() !== '');
  if (lines.length === 0) fail(CODES.badPayload, 'payload has no key=value pairs or CSV rows', 'payload');
  const mode = options.mode === 'auto' ? (lines[0].includes('=') ? 'pairs' : 'csv') : options.mode;
  return mode === 'pairs' ? decodePairs(lines, now, limits, options) : decodeCsv(lines, now, limits, options);
}

function finish(fields: Map<string, MetricValue> | Metrics, now: number, options: KvOptions, where: string): TelemetryRecord {
  const payload: Metrics = {};
  let timestamp = now;
  let deviceId: string | undefined;
  const entries = fields instanceof Map ? fields.entries() : Object.entries(fields);
  for (const [key, value] of entries) {
    if (key === options.timestampKey) timestamp = toTimestampMs(value, `${where} ${key}`);
    else if (key === options.idKey) deviceId = String(value);
    else setMetric(payload, key, value, `${where} ${key}`);
  }
  if (options.idKey !== undefined && deviceId === undefined) fail(CODES.noDeviceId, `${where} has no "${options.idKey}" for the device id`, options.idKey);
  if (Object.keys(payload).length === 0) fail(CODES.badPayload, `${where} has no metrics`, where);
  const record: TelemetryRecord = { timestamp, payload };
  if (deviceId !== undefined) record.deviceId = deviceId;
  return record;
}

function decodePairs(lines: string[], now: number, limits: Limits, options: KvOptions): TelemetryRecord[] {
  if (lines.length > limits.maxRecords) tooManyRecords(lines.length, limits.maxRecords, 'lines');
  return lines.map((line, index) => {
    const fields = new Map<string, MetricValue>();
    for (const pair of line.trim().split(PAIR_SEPARATORS)) {
      if (pair === '') continue;
      const eq = pair.indexOf('=');
      if (eq <= 0) fail(CODES.badPayload, `line ${index + 1}: "${pair.slice(0, 40)}" is not key=value`, `line ${index + 1}`);
      const key = pair.slice(0, eq).trim();
      if (isHostileKey(key)) fail(CODES.hostileKey, `line ${index + 1}: key "${key}" is not allowed`, key);
      fields.set(key, parseScalar(pair.slice(eq + 1)));
    }
    return finish(fields, now, options, `line ${index + 1}`);
  });
}

function splitCsv(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter);
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '""';
        i++;
      } else if (c === '"') {
        quoted = false;
        cell += c;
      } else cell += c;
    } else if (c === '"') {
      quoted = true;
      cell += c;
    } else if (c === delimiter) {
      cells.push(cell);
      cell = '';
    } else cell += c;
  }
  cells.push(cell);
  return cells;
}

function decodeCsv(lines: string[], now: number, limits: Limits, options: KvOptions): TelemetryRecord[] {
  const headerLine = lines[0];
  const delimiter = headerLine.includes(',') ? ',' : headerLine.includes(';') ? ';' : headerLine.includes('\t') ? '\t' : ',';
  const header = splitCsv(headerLine, delimiter).map((h) => String(parseScalar(h)));
  header.forEach((name, column) => {
    if (name === '') fail(CODES.badPayload, `CSV header column ${column + 1} is empty`, 'header');
    if (isHostileKey(name)) fail(CODES.hostileKey, `CSV header "${name}" is not allowed`, name);
  });
  if (new Set(header).size !== header.length) fail(CODES.badPayload, 'CSV header names a column twice', 'header');
  const rows = lines.length - 1;
  if (rows === 0) fail(CODES.badPayload, 'CSV has a header row but no data rows', 'payload');
  if (rows > limits.maxRecords) tooManyRecords(rows, limits.maxRecords, 'rows');
  const records: TelemetryRecord[] = [];
  for (let r = 1; r < lines.length; r++) {
    const cells = splitCsv(lines[r], delimiter);
    if (cells.length !== header.length) fail(CODES.badPayload, `CSV row ${r} has ${cells.length} columns; the header has ${header.length}`, `row ${r}`);
    const fields: Metrics = {};
    for (let c = 0; c < cells.length; c++) {
      if (cells[c].trim() === '') continue;
      fields[header[c]] = parseScalar(cells[c]);
    }
    records.push(finish(fields, now, options, `row ${r}`));
  }
  return records;
}
