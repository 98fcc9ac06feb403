// What the overheat rule of the plant example must do, worked out from the telemetry that entered m2m-rule:
// raise on the 2nd consecutive reading above 80 °C, clear on the first reading below 77 °C.

export interface Sample {
  deviceId: string;
  temperature: number;
  /** The message id, which the alarm events caused by this reading carry too. */
  msgid: string;
}

/** An alarm transition and the reading that caused it. */
export interface Transition {
  event: 'raised' | 'cleared';
  value: number;
  msgid: string;
}

export const OVERHEAT = { raiseAbove: 80, clearBelow: 77, samples: 2 };

export function expectedOverheat(samples: readonly Sample[]): Map<string, Transition[]> {
  const expected = new Map<string, Transition[]>();
  const state = new Map<string, { run: number; active: boolean }>();
  for (const { deviceId, temperature, msgid } of samples) {
    const s = state.get(deviceId) ?? { run: 0, active: false };
    state.set(deviceId, s);
    const list = expected.get(deviceId) ?? [];
    expected.set(deviceId, list);
    s.run = temperature > OVERHEAT.raiseAbove ? s.run + 1 : 0;
    if (!s.active && s.run >= OVERHEAT.samples) {
      s.active = true;
      list.push({ event: 'raised', value: temperature, msgid });
    } else if (s.active && temperature < OVERHEAT.clearBelow) {
      s.active = false;
      list.push({ event: 'cleared', value: temperature, msgid });
    }
  }
  return expected;
}
