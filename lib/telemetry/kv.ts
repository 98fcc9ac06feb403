import { isHostileKey } from '../safe';
import { CODES, fail, setMetric, tooManyRecords } from './fail';
import type { Limits, MetricValue, Metrics, TelemetryRecord } from './types';
import { tooManyMetrics, toTimestampMs } from './values';

// `kv`: `t=21.5,h=40` lines (one record a line), or CSV with a header row (one record a row; a quoted
// field may hold the delimiter, line breaks and "" for a quote).

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
  const first = firstLine(text);
  if (first === undefined) fail(CODES.badPayload, 'payload has no key=value pairs or CSV rows', 'payload');
  const mode = options.mode === 'auto' ? (first.includes('=') ? 'pairs' : 'csv') : options.mode;
  return mode === 'pairs' ? decodePairs(text, now, limits, options) : decodeCsv(text, first, now, limits, options);
}

/** The first line that is not blank, without splitting the whole text. */
function firstLine(text: string): string | undefined {
  for (let start = 0; start <= text.length;) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, text[end - 1] === '\r' ? end - 1 : end);
    if (line.trim() !== '') return line;
    start = end + 1;
  }
  return undefined;
}

function finish(fields: Map<string, MetricValue>, now: number, limits: Limits, options: KvOptions, where: string): TelemetryRecord {
  const payload: Metrics = {};
  let timestamp = now;
  let deviceId: string | undefined;
  let metrics = 0;
  for (const [key, value] of fields) {
    if (key === options.timestampKey) timestamp = toTimestampMs(value, `${where} ${key}`);
    else if (key === options.idKey) deviceId = String(value);
    else {
      if (++metrics > limits.maxMetrics) tooManyMetrics(limits.maxMetrics, where);
      setMetric(payload, key, value, `${where} ${key}`);
    }
  }
  if (options.idKey !== undefined && deviceId === undefined) fail(CODES.noDeviceId, `${where} has no "${options.idKey}" for the device id`, options.idKey);
  if (metrics === 0) fail(CODES.badPayload, `${where} has no metrics`, where);
  const record: TelemetryRecord = { timestamp, payload };
  if (deviceId !== undefined) record.deviceId = deviceId;
  return record;
}

function decodePairs(text: string, now: number, limits: Limits, options: KvOptions): TelemetryRecord[] {
  const lines = text.split(LINES).filter((line) => line.trim() !== '');
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
      if (fields.size > limits.maxMetrics + 2) tooManyMetrics(limits.maxMetrics, `line ${index + 1}`); // + time and id keys
    }
    return finish(fields, now, limits, options, `line ${index + 1}`);
  });
}

interface CsvCell {
  text: string;
  /** A quoted cell is text as written (quotes removed, "" read as "); an unquoted one is parsed as a scalar. */
  quoted: boolean;
}

/**
 * RFC 4180 rows: a quoted field may hold the delimiter, line breaks and "" for a quote. Blank lines are
 * skipped. Stops with TOO_MANY_RECORDS as soon as there are more than `maxRows` rows.
 */
function csvRows(text: string, delimiter: string, maxRows: number): CsvCell[][] {
  const rows: CsvCell[][] = [];
  let row: CsvCell[] = [];
  let i = 0;
  const length = text.length;
  const endRow = (): void => {
    if (row.length > 1 || row[0].quoted || row[0].text.trim() !== '') {
      if (rows.length === maxRows) tooManyRecords(rows.length, maxRows - 1, 'rows');
      rows.push(row);
    }
    row = [];
  };
  for (;;) {
    const start = i;
    while (i < length && (text[i] === ' ' || text[i] === '\t') && text[i] !== delimiter) i++;
    if (text[i] === '"') {
      const opened = rows.length;
      let cell = '';
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) fail(CODES.badPayload, `CSV row ${opened} has a quoted field that is never closed`, `row ${opened}`);
        cell += text.slice(i, close);
        i = close + 1;
        if (text[i] !== '"') break;
        cell += '"';
        i++;
      }
      while (i < length && (text[i] === ' ' || text[i] === '\t') && text[i] !== delimiter) i++;
      if (i < length && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') {
        fail(CODES.badPayload, `CSV row ${rows.length} has text after the closing quote of a field`, `row ${rows.length}`);
      }
      row.push({ text: cell, quoted: true });
    } else {
      i = start;
      while (i < length && text[i] !== delimiter && text[i] !== '\n' && text[i] !== '\r') i++;
      row.push({ text: text.slice(start, i), quoted: false });
    }
    if (i >= length) {
      endRow();
      return rows;
    }
    const c = text[i++];
    if (c === '\r' && text[i] === '\n') i++;
    if (c !== delimiter) endRow();
  }
}

function decodeCsv(text: string, headerLine: string, now: number, limits: Limits, options: KvOptions): TelemetryRecord[] {
  const delimiter = headerLine.includes(',') ? ',' : headerLine.includes(';') ? ';' : headerLine.includes('\t') ? '\t' : ',';
  const rows = csvRows(text, delimiter, limits.maxRecords + 1);
  const header = rows[0].map((cell) => (cell.quoted ? cell.text : cell.text.trim()));
  header.forEach((name, column) => {
    if (name === '') fail(CODES.badPayload, `CSV header column ${column + 1} is empty`, 'header');
    if (isHostileKey(name)) fail(CODES.hostileKey, `CSV header "${name}" is not allowed`, name);
  });
  if (new Set(header).size !== header.length) fail(CODES.badPayload, 'CSV header names a column twice', 'header');
  const metricColumns = header.filter((name) => name !== options.timestampKey && name !== options.idKey).length;
  if (metricColumns > limits.maxMetrics) tooManyMetrics(limits.maxMetrics, 'the CSV header');
  if (rows.length === 1) fail(CODES.badPayload, 'CSV has a header row but no data rows', 'payload');
  const records: TelemetryRecord[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cells = rows[r];
    if (cells.length !== header.length) fail(CODES.badPayload, `CSV row ${r} has ${cells.length} columns; the header has ${header.length}`, `row ${r}`);
    const fields = new Map<string, MetricValue>();
    for (let c = 0; c < cells.length; c++) {
      const cell = cells[c];
      if (cell.quoted) fields.set(header[c], cell.text);
      else if (cell.text.trim() !== '') fields.set(header[c], parseScalar(cell.text));
    }
    records.push(finish(fields, now, limits, options, `row ${r}`));
  }
  return records;
}
