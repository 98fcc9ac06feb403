import { M2MError } from '../errors';
import type { LppKind, MetricSpec } from './metrics';

// Encoders for the formats m2m-telemetry decodes, so simulated devices exercise the same paths real ones do.

export type SimulatorFormat = 'json' | 'senml' | 'lpp' | 'binary' | 'kv';
export const SIMULATOR_FORMATS: readonly SimulatorFormat[] = ['json', 'senml', 'lpp', 'binary', 'kv'];

export type Reading = Record<string, number>;

/** `{ temperature: 21.5, humidity: 40, ts }`: a plain object, written as JSON by `mqtt out`. */
export function encodeJson(reading: Reading, ts: number): Record<string, number> {
  return { ...reading, ts };
}

/** RFC 8428 SenML (JSON): base name `<deviceId>:`, base time in seconds, one record a metric. */
export function encodeSenml(deviceId: string, reading: Reading, ts: number, metrics: readonly MetricSpec[]): Array<Record<string, string | number>> {
  return metrics.map((m, i) => {
    const record: Record<string, string | number> =
      i === 0 ? { bn: `${deviceId}:`, bt: ts / 1000, n: m.name, v: reading[m.name] } : { n: m.name, v: reading[m.name] };
    if (m.unit) record.u = m.unit;
    return record;
  });
}

/** `temperature=21.5,humidity=40`: one line of key=value pairs. */
export function encodeKv(reading: Reading): string {
  let line = '';
  for (const name in reading) line += `${line === '' ? '' : ','}${name}=${reading[name]}`;
  return line;
}

interface LppLayout {
  code: number;
  size: number;
  resolution: number;
  signed: boolean;
}

const LPP: Record<LppKind, LppLayout> = {
  digital_in: { code: 0, size: 1, resolution: 1, signed: false },
  analog_in: { code: 2, size: 2, resolution: 0.01, signed: true },
  luminosity: { code: 101, size: 2, resolution: 1, signed: false },
  presence: { code: 102, size: 1, resolution: 1, signed: false },
  temperature: { code: 103, size: 2, resolution: 0.1, signed: true },
  relative_humidity: { code: 104, size: 1, resolution: 0.5, signed: false },
  barometric_pressure: { code: 115, size: 2, resolution: 0.1, signed: false },
};

/**
 * Cayenne LPP: one entry a metric on channels 1, 2, 3... (decoded as `<type>_<channel>`, e.g. `temperature_1`).
 * Values beyond what the type can hold are clamped, as a real sensor's ADC would.
 */
export function encodeLpp(reading: Reading, metrics: readonly MetricSpec[]): Buffer {
  if (metrics.length > 255) throw new M2MError('INVALID_CONFIG', 'Cayenne LPP carries at most 255 channels', { field: 'metrics' });
  const layouts = metrics.map((m) => LPP[m.lppType ?? 'analog_in']);
  const frame = Buffer.alloc(layouts.reduce((n, l) => n + 2 + l.size, 0));
  let at = 0;
  metrics.forEach((m, i) => {
    const layout = layouts[i];
    frame[at] = i + 1;
    frame[at + 1] = layout.code;
    const bits = layout.size * 8;
    const lo = layout.signed ? -(2 ** (bits - 1)) : 0;
    const hi = layout.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
    const raw = Math.min(hi, Math.max(lo, Math.round(reading[m.name] / layout.resolution)));
    if (layout.size === 1) frame.writeUInt8(raw & 0xff, at + 2);
    else if (layout.signed) frame.writeInt16BE(raw, at + 2);
    else frame.writeUInt16BE(raw, at + 2);
    at += 2 + layout.size;
  });
  return frame;
}

/** Binary: each metric a big-endian float32 at byte 4 × its position. `binaryFrameSpec` gives the decoder's spec. */
export function encodeBinary(reading: Reading, metrics: readonly MetricSpec[]): Buffer {
  const frame = Buffer.alloc(metrics.length * 4);
  metrics.forEach((m, i) => frame.writeFloatBE(reading[m.name], i * 4));
  return frame;
}

/** The m2m-telemetry `binary` frame spec that decodes what `encodeBinary` writes. */
export function binaryFrameSpec(metrics: readonly MetricSpec[]): Array<{ name: string; type: 'float32'; endian: 'big'; byteOffset: number; unit?: string }> {
  return metrics.map((m, i) => ({ name: m.name, type: 'float32', endian: 'big', byteOffset: i * 4, ...(m.unit ? { unit: m.unit } : {}) }));
}

export function encodeReading(format: SimulatorFormat, deviceId: string, reading: Reading, ts: number, metrics: readonly MetricSpec[]): unknown {
  switch (format) {
    case 'json':
      return encodeJson(reading, ts);
    case 'senml':
      return encodeSenml(deviceId, reading, ts, metrics);
    case 'lpp':
      return encodeLpp(reading, metrics);
    case 'binary':
      return encodeBinary(reading, metrics);
    case 'kv':
      return encodeKv(reading);
    default:
      throw new M2MError('INVALID_CONFIG', `format "${String(format)}" is not one of ${SIMULATOR_FORMATS.join(', ')}`, { field: 'format' });
  }
}
