// What the publishers of bench:e2e send, and what must come out: per device a temperature that overheats for 4
// readings in every 40 (raised on the 2nd reading above 80 °C, cleared on the first below 77 °C, the plant
// example's overheat rule) and a steady vibration (no rate alarm). The expected alarms come from the plant e2e
// test's oracle, run over every reading of every phase in publishing order.
import { expectedOverheat, type Sample } from '../../test/e2e/plant-oracle';

export interface Reading {
  deviceId: string;
  topic: string;
  payload: string;
  /** The reading's number for its device. */
  n: number;
  /** The overheat transition this reading must cause, when it must cause one. */
  transition?: { event: 'raised' | 'cleared'; value: number };
}

export interface Phase {
  name: string;
  readings: Reading[];
  /** Messages per second, or undefined for as fast as the broker takes them. */
  rate?: number;
}

const CYCLE = 40;

export function deviceName(d: number): string {
  return `machine-${String(d).padStart(4, '0')}`;
}

function temperature(d: number, n: number): number {
  const p = (n + d * 7) % CYCLE;
  if (p >= 20 && p < 24) return 82 + (p - 20) * 0.5;
  return 65 + ((n * 13 + d) % 10) * 0.5;
}

/**
 * The phases in publishing order: each sends `perDevice` readings of every device, interleaved (device 0..N-1,
 * then again), and ends with a sentinel device of its own whose 2nd reading raises an alarm.
 */
export function buildPhases(devices: number, plan: Array<{ name: string; perDevice: number; rate?: number }>): Phase[] {
  const next = new Array<number>(devices).fill(0);
  const phases: Phase[] = [];
  const all: Array<Sample & { reading: Reading }> = [];
  for (const { name, perDevice, rate } of plan) {
    const readings: Reading[] = [];
    for (let i = 0; i < perDevice; i++) {
      for (let d = 0; d < devices; d++) {
        const n = next[d]++;
        const t = temperature(d, n);
        readings.push({ deviceId: deviceName(d), topic: `bench/${deviceName(d)}/telemetry`, payload: `{"temperature":${t},"vibration":3.2,"n":${n}}`, n });
      }
    }
    const sentinel = `end-${name}`;
    for (let n = 0; n < 2; n++)
      readings.push({ deviceId: sentinel, topic: `bench/${sentinel}/telemetry`, payload: `{"temperature":90,"vibration":3.2,"n":${n}}`, n });
    for (const reading of readings) {
      all.push({
        deviceId: reading.deviceId,
        temperature: (JSON.parse(reading.payload) as { temperature: number }).temperature,
        msgid: String(all.length),
        reading,
      });
    }
    phases.push({ name, readings, rate });
  }
  for (const transitions of expectedOverheat(all).values()) {
    for (const { event, value, msgid } of transitions) all[Number(msgid)].reading.transition = { event, value };
  }
  return phases;
}
