// A small seedable generator (mulberry32): the same seed gives the same telemetry and the same failures,
// so tests and demos can be replayed.
export type Random = () => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from text or a number; an empty seed picks one at random. */
export function makeRandom(seed?: number | string): Random {
  if (seed === undefined || seed === '') return seededRandom(Math.floor(Math.random() * 2 ** 32));
  if (typeof seed === 'number' && Number.isFinite(seed)) return seededRandom(seed);
  let hash = 2166136261;
  for (const ch of String(seed)) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619);
  return seededRandom(hash);
}

/** Roughly normal, mean 0 and standard deviation 1 (sum of uniforms; cheap and bounded). */
export function gaussian(random: Random): number {
  return random() + random() + random() + random() + random() + random() - 3;
}
