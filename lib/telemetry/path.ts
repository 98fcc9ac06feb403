import { isHostileKey } from '../safe';
import { CODES, fail } from './fail';

// Dotted paths such as `sensors.temp` or `readings[0].value`, split once when the node is configured.
export type CompiledPath = readonly (string | number)[];

const SEGMENT = /([^.[\]]+)|\[(\d+)\]/g;

export function compilePath(path: string, field: string): CompiledPath {
  const trimmed = path.trim();
  if (trimmed === '') fail(CODES.config, `${field} must not be empty`, field);
  const segments: (string | number)[] = [];
  let consumed = 0;
  for (const match of trimmed.matchAll(SEGMENT)) {
    if (match[1] !== undefined) {
      if (isHostileKey(match[1])) fail(CODES.config, `${field} "${path}" uses a reserved key "${match[1]}"`, field);
      segments.push(match[1]);
    } else {
      segments.push(Number(match[2]));
    }
    consumed += match[0].length;
  }
  const separators = (trimmed.match(/\./g) ?? []).length;
  if (segments.length === 0 || consumed + separators !== trimmed.length) {
    fail(CODES.config, `${field} "${path}" is not a valid path (use a.b or a[0].b)`, field);
  }
  return segments;
}

/** Reads a compiled path from an object, own properties only; undefined when any step is missing. */
export function readPath(root: unknown, path: CompiledPath): unknown {
  let value: unknown = root;
  for (let i = 0; i < path.length; i++) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = path[i];
    if (!Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

export function pathText(path: CompiledPath): string {
  return path
    .map((s) => (typeof s === 'number' ? `[${s}]` : s))
    .join('.')
    .replace(/\.\[/g, '[');
}
