import { CODES, fail, tooManyRecords } from './fail';
import type { Limits, TelemetryRecord } from './types';

// Cayenne LPP: [channel][type][data]... with every type of the reference implementation (myDevices
// CayenneLPP.h), named as The Things Stack names them: `temperature_3`, `accelerometer_6_x`, `gps_1_latitude`.

interface LppType {
  name: string;
  size: number;
  unit?: string;
}

const TYPES: (LppType | undefined)[] = [];
TYPES[0] = { name: 'digital_in', size: 1 };
TYPES[1] = { name: 'digital_out', size: 1 };
TYPES[2] = { name: 'analog_in', size: 2 };
TYPES[3] = { name: 'analog_out', size: 2 };
TYPES[101] = { name: 'luminosity', size: 2, unit: 'lx' };
TYPES[102] = { name: 'presence', size: 1 };
TYPES[103] = { name: 'temperature', size: 2, unit: 'Cel' };
TYPES[104] = { name: 'relative_humidity', size: 1, unit: '%RH' };
TYPES[113] = { name: 'accelerometer', size: 6, unit: 'g' };
TYPES[115] = { name: 'barometric_pressure', size: 2, unit: 'hPa' };
TYPES[134] = { name: 'gyrometer', size: 6, unit: 'deg/s' };
TYPES[136] = { name: 'gps', size: 9 };

export const LPP_TYPE_CODES: readonly number[] = TYPES.flatMap((t, code) => (t ? [code] : []));

// Metric names per type and channel, built on first use so the hot loop concatenates no strings.
const names: string[][][] = [];
const AXES = ['x', 'y', 'z'];
const GPS = ['latitude', 'longitude', 'altitude'];

function metricNames(type: number, channel: number): string[] {
  const byChannel = (names[type] ??= []);
  let list = byChannel[channel];
  if (!list) {
    const base = `${(TYPES[type] as LppType).name}_${channel}`;
    list = type === 113 || type === 134 ? AXES.map((a) => `${base}_${a}`) : type === 136 ? GPS.map((g) => `${base}_${g}`) : [base];
    byChannel[channel] = list;
  }
  return list;
}

function int16(b: Uint8Array, i: number): number {
  const v = (b[i] << 8) | b[i + 1];
  return v & 0x8000 ? v - 0x10000 : v;
}

function int24(b: Uint8Array, i: number): number {
  const v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
  return v & 0x800000 ? v - 0x1000000 : v;
}

export function decodeLpp(bytes: Uint8Array, now: number, limits: Limits): TelemetryRecord {
  const payload: Record<string, number> = {};
  const units: Record<string, string> = {};
  const length = bytes.length;
  if (length === 0) fail(CODES.badPayload, 'LPP frame is empty', 'payload');
  let i = 0;
  let count = 0;
  while (i < length) {
    if (i + 2 > length) fail(CODES.shortFrame, `LPP frame ends inside an entry header at byte offset ${i}`, `byte ${i}`);
    const channel = bytes[i];
    const code = bytes[i + 1];
    const type = TYPES[code];
    if (!type) fail(CODES.badPayload, `unknown LPP type ${code} (0x${code.toString(16).padStart(2, '0')}) at byte offset ${i + 1}`, `byte ${i + 1}`);
    const at = i + 2;
    if (at + type.size > length) {
      fail(CODES.shortFrame, `LPP ${type.name} on channel ${channel} needs ${type.size} bytes at byte offset ${at}, but the frame ends at ${length}`, `byte ${at}`);
    }
    if (++count > limits.maxRecords) tooManyRecords(count, limits.maxRecords, 'LPP entries');
    const metric = metricNames(code, channel);
    switch (code) {
      case 0:
      case 1:
      case 102:
        payload[metric[0]] = bytes[at];
        break;
      case 2:
      case 3:
        payload[metric[0]] = int16(bytes, at) / 100;
        break;
      case 101:
        payload[metric[0]] = (bytes[at] << 8) | bytes[at + 1];
        break;
      case 103:
        payload[metric[0]] = int16(bytes, at) / 10;
        break;
      case 104:
        payload[metric[0]] = bytes[at] / 2;
        break;
      case 115:
        payload[metric[0]] = ((bytes[at] << 8) | bytes[at + 1]) / 10;
        break;
      case 113:
      case 134: {
        const divisor = code === 113 ? 1000 : 100;
        payload[metric[0]] = int16(bytes, at) / divisor;
        payload[metric[1]] = int16(bytes, at + 2) / divisor;
        payload[metric[2]] = int16(bytes, at + 4) / divisor;
        break;
      }
      case 136:
        payload[metric[0]] = int24(bytes, at) / 10000;
        payload[metric[1]] = int24(bytes, at + 3) / 10000;
        payload[metric[2]] = int24(bytes, at + 6) / 100;
        break;
    }
    if (type.unit) {
      for (let m = 0; m < metric.length; m++) units[metric[m]] = type.unit;
    } else if (code === 136) {
      units[metric[0]] = 'lat';
      units[metric[1]] = 'lon';
      units[metric[2]] = 'm';
    }
    i = at + type.size;
  }
  return { timestamp: now, payload, units };
}
