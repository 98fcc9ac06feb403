// The telemetry contract (design.md): one record per device and timestamp, flat metrics, units where known.

export type MetricValue = number | string | boolean;
export type Metrics = Record<string, MetricValue>;
export type Units = Record<string, string>;

/** What a codec produces. `deviceId` is set when the format itself names the device (SenML, Sparkplug, envelopes). */
export interface TelemetryRecord {
  deviceId?: string;
  /** ms since epoch */
  timestamp: number;
  payload: Metrics;
  units?: Units;
}

export interface Limits {
  /** Largest accepted payload in bytes (Buffer or string length). */
  maxBytes: number;
  /** Most records (SenML records, CSV rows, LPP entries) accepted in one payload. */
  maxRecords: number;
  /** Most metrics in one telemetry record, whatever the format. */
  maxMetrics: number;
}

export const DEFAULT_LIMITS: Limits = { maxBytes: 256 * 1024, maxRecords: 10000, maxMetrics: 10000 };

export const FORMATS = ['json', 'senml', 'lpp', 'binary', 'kv', 'sparkplug', 'ttn', 'chirpstack'] as const;
export type Format = (typeof FORMATS)[number];

export function isFormat(value: unknown): value is Format {
  return typeof value === 'string' && (FORMATS as readonly string[]).includes(value);
}

/** How a string payload is turned into bytes for the binary formats. */
export type ByteEncoding = 'auto' | 'hex' | 'base64';
