import { CODES, fail, tooManyRecords } from './fail';
import type { Limits, TelemetryRecord } from './types';

// Cayenne LPP: [channel][type][data]... with every type of the reference implementation (myDevices
// CayenneLPP.h) and the extended types of the ElectronicCats library (IPSO ids minus 3200), named as The
// Things Stack names the reference types (`temperature_3`, `accelerometer_6_x`, `gps_1_latitude`) and as
// the ElectronicCats decoder names the extended ones (`voltage_2`, `colour_4_r`). Values are big-endian.

interface LppType {
  name: string;
  /** Data bytes after the channel and type. */
  size: number;
  signed: boolean;
  /** value = raw / divisor, one divisor per part (a single-value type has one part). */
  divisors: readonly number[];
  /** Sub-names of a multi-value type (`x`, `y`, `z`); every part takes size / parts bytes. */
  parts?: readonly string[];
  /** Unit per part (one unit for all parts when a single one is given). */
  units?: readonly string[];
}

const TYPES: (LppType | undefined)[] = [];
const define = (code: number, name: string, size: number, signed: boolean, divisor: number | number[], unit?: string | string[], parts?: string[]): void => {
  TYPES[code] = {
    name,
    size,
    signed,
    divisors: Array.isArray(divisor) ? divisor : [divisor],
    parts,
    units: unit === undefined ? undefined : Array.isArray(unit) ? unit : [unit],
  };
};
const AXES = ['x', 'y', 'z'];
define(0, 'digital_in', 1, false, 1);
define(1, 'digital_out', 1, false, 1);
define(2, 'analog_in', 2, true, 100);
define(3, 'analog_out', 2, true, 100);
define(100, 'generic', 4, false, 1);
define(101, 'luminosity', 2, false, 1, 'lx');
define(102, 'presence', 1, false, 1);
define(103, 'temperature', 2, true, 10, 'Cel');
define(104, 'relative_humidity', 1, false, 2, '%RH');
define(113, 'accelerometer', 6, true, [1000, 1000, 1000], 'g', AXES);
define(115, 'barometric_pressure', 2, false, 10, 'hPa');
// Voltage and current are unsigned in the published type list and decoders; see the node's help.
define(116, 'voltage', 2, false, 100, 'V');
define(117, 'current', 2, false, 1000, 'A');
define(118, 'frequency', 4, false, 1, 'Hz');
define(120, 'percentage', 1, false, 1, '%');
define(121, 'altitude', 2, true, 1, 'm');
define(125, 'concentration', 2, false, 1, 'ppm');
define(128, 'power', 2, false, 1, 'W');
define(130, 'distance', 4, false, 1000, 'm');
define(131, 'energy', 4, false, 1000, 'kWh');
define(132, 'direction', 2, false, 1, 'deg');
define(133, 'time', 4, false, 1, 's');
define(134, 'gyrometer', 6, true, [100, 100, 100], 'deg/s', AXES);
define(135, 'colour', 3, false, [1, 1, 1], undefined, ['r', 'g', 'b']);
define(136, 'gps', 9, true, [10000, 10000, 100], ['lat', 'lon', 'm'], ['latitude', 'longitude', 'altitude']);
define(142, 'switch', 1, false, 1);

/** The polyline type (240) has a variable length; it is named in the error rather than called unknown. */
const POLYLINE = 240;

export const LPP_TYPE_CODES: readonly number[] = TYPES.flatMap((t, code) => (t ? [code] : []));

// Metric names per type and channel, built on first use so the hot loop concatenates no strings.
const names: string[][][] = [];

function metricNames(code: number, channel: number): string[] {
  const byChannel = (names[code] ??= []);
  let list = byChannel[channel];
  if (!list) {
    const lppType = TYPES[code] as LppType;
    const base = `${lppType.name}_${channel}`;
    list = lppType.parts ? lppType.parts.map((part) => `${base}_${part}`) : [base];
    byChannel[channel] = list;
  }
  return list;
}

/** A big-endian integer of 1 to 4 bytes, two's complement when signed. */
function readInt(b: Uint8Array, at: number, size: number, signed: boolean): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + b[at + i];
  if (signed) {
    const half = 2 ** (8 * size - 1);
    if (value >= half) value -= 2 * half;
  }
  return value;
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
    if (!type && code === POLYLINE)
      fail(CODES.badPayload, `LPP polyline (type 240) at byte offset ${i + 1} has a variable length and is not supported`, `byte ${i + 1}`);
    if (!type) fail(CODES.badPayload, `unknown LPP type ${code} (0x${code.toString(16).padStart(2, '0')}) at byte offset ${i + 1}`, `byte ${i + 1}`);
    const at = i + 2;
    if (at + type.size > length) {
      fail(
        CODES.shortFrame,
        `LPP ${type.name} on channel ${channel} needs ${type.size} bytes at byte offset ${at}, but the frame ends at ${length}`,
        `byte ${at}`,
      );
    }
    if (++count > limits.maxRecords) tooManyRecords(count, limits.maxRecords, 'LPP entries');
    const metric = metricNames(code, channel);
    const partSize = type.size / metric.length;
    for (let p = 0; p < metric.length; p++) {
      const divisor = type.divisors[p];
      const raw = readInt(bytes, at + p * partSize, partSize, type.signed);
      payload[metric[p]] = divisor === 1 ? raw : raw / divisor;
      const unit = type.units?.[type.units.length === 1 ? 0 : p];
      if (unit !== undefined) units[metric[p]] = unit;
    }
    i = at + type.size;
  }
  return { timestamp: now, payload, units };
}
