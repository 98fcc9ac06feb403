import { M2MError } from '../errors';
import { isHostileKey } from '../safe';
import { gaussian, type Random } from './random';

/** One simulated measurement. Values wander inside [min, max]; spikes leave it on purpose, to trip alarms. */
export interface MetricSpec {
  name: string;
  min: number;
  max: number;
  /** Standard deviation of the noise added to each reading. */
  noise?: number;
  /** Largest step of the slow random walk per reading. */
  drift?: number;
  /** Chance (0..1) that a reading is a spike. */
  spikeChance?: number;
  /** How many readings in a row a spike lasts (default 1). */
  spikeLength?: number;
  /** How far beyond the range a spike goes, as a share of the range (default 0.5). */
  spikeSize?: number;
  /** Decimal places kept (default 2). */
  decimals?: number;
  unit?: string;
  /** Cayenne LPP type for the `lpp` format; default analog_in. */
  lppType?: LppKind;
}

export type LppKind = 'digital_in' | 'analog_in' | 'luminosity' | 'presence' | 'temperature' | 'relative_humidity' | 'barometric_pressure';
export const LPP_KINDS: readonly LppKind[] = ['digital_in', 'analog_in', 'luminosity', 'presence', 'temperature', 'relative_humidity', 'barometric_pressure'];

export const DEFAULT_METRICS: MetricSpec[] = [
  { name: 'temperature', min: 18, max: 26, noise: 0.2, drift: 0.1, spikeChance: 0.01, unit: 'Cel', lppType: 'temperature' },
  { name: 'humidity', min: 30, max: 60, noise: 1, drift: 0.5, spikeChance: 0, unit: '%RH', lppType: 'relative_humidity' },
];

function number(value: unknown, field: string, fallback?: number): number {
  if ((value === undefined || value === '') && fallback !== undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new M2MError('INVALID_CONFIG', `${field} must be a number`, { field });
  return n;
}

export function checkMetrics(specs: unknown): MetricSpec[] {
  if (!Array.isArray(specs) || specs.length === 0) throw new M2MError('INVALID_CONFIG', 'the simulator needs at least one metric', { field: 'metrics' });
  const seen = new Set<string>();
  return specs.map((raw: Partial<MetricSpec>, i) => {
    const at = `metrics[${i}]`;
    const name = typeof raw?.name === 'string' ? raw.name.trim() : '';
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name) || isHostileKey(name))
      throw new M2MError('INVALID_CONFIG', `${at}.name must be 1..64 of A-Z a-z 0-9 _ . : -`, { field: 'metrics' });
    if (seen.has(name)) throw new M2MError('INVALID_CONFIG', `${at}.name "${name}" is used twice`, { field: 'metrics' });
    seen.add(name);
    const min = number(raw.min, `${at}.min`);
    const max = number(raw.max, `${at}.max`);
    if (max < min) throw new M2MError('INVALID_CONFIG', `${at}: max must not be below min`, { field: 'metrics' });
    const spikeChance = number(raw.spikeChance, `${at}.spikeChance`, 0);
    if (spikeChance < 0 || spikeChance > 1) throw new M2MError('INVALID_CONFIG', `${at}.spikeChance must be 0..1`, { field: 'metrics' });
    const lppType = raw.lppType || 'analog_in';
    if (!LPP_KINDS.includes(lppType)) throw new M2MError('INVALID_CONFIG', `${at}.lppType must be one of ${LPP_KINDS.join(', ')}`, { field: 'metrics' });
    const decimals = number(raw.decimals, `${at}.decimals`, 2);
    const spikeLength = number(raw.spikeLength, `${at}.spikeLength`, 1);
    if (!Number.isInteger(spikeLength) || spikeLength < 1 || spikeLength > 1000) {
      throw new M2MError('INVALID_CONFIG', `${at}.spikeLength must be a whole number 1..1000`, { field: 'metrics' });
    }
    return {
      name,
      min,
      max,
      spikeChance,
      spikeLength,
      lppType,
      noise: Math.abs(number(raw.noise, `${at}.noise`, 0)),
      drift: Math.abs(number(raw.drift, `${at}.drift`, 0)),
      spikeSize: Math.abs(number(raw.spikeSize, `${at}.spikeSize`, 0.5)),
      decimals: Math.max(0, Math.min(6, Math.round(decimals))),
      unit: typeof raw.unit === 'string' && raw.unit !== '' ? raw.unit : undefined,
    };
  });
}

/** Per device and metric: where the slow walk is now. */
export function startLevel(spec: MetricSpec, random: Random): number {
  return spec.min + (spec.max - spec.min) * (0.25 + 0.5 * random());
}

/** Whether a reading is a spike: readings that are not spikes are kept within [min, max]. */
export function isSpike(spec: MetricSpec, value: number): boolean {
  return value > spec.max || value < spec.min;
}

/** The next reading: walk the level, add noise, now and then spike. Returns [reading, new level]. */
export function nextReading(spec: MetricSpec, level: number, random: Random): [number, number] {
  const drift = spec.drift ?? 0;
  let next = level + (random() * 2 - 1) * drift;
  next = Math.min(spec.max, Math.max(spec.min, next));
  let value = next + gaussian(random) * (spec.noise ?? 0);
  if ((spec.spikeChance ?? 0) > 0 && random() < (spec.spikeChance ?? 0)) {
    const span = (spec.max - spec.min || Math.abs(spec.max) || 1) * (spec.spikeSize ?? 0.5);
    value = random() < 0.5 ? spec.max + span : spec.min - span;
  } else {
    value = Math.min(spec.max, Math.max(spec.min, value));
  }
  const scale = 10 ** (spec.decimals ?? 2);
  return [Math.round(value * scale) / scale, next];
}
