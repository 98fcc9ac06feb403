// Alarm text templates, split once into literal and field parts so that rendering is a join. A template names
// only the fields it was compiled for and reads only the event's own properties, so `{{constructor}}` can never
// render something inherited (a function's source).

export type Template = (fields: object) => string;

const FIELD = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

/** Throws an Error naming the first field that is not in `allowed`. */
export function compileTemplate(text: string, allowed: readonly string[]): Template {
  const literals: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of text.matchAll(FIELD)) {
    if (!allowed.includes(match[1])) throw new Error(`{{${match[1]}}} is not a field; use ${allowed.map((name) => `{{${name}}}`).join(' ')}`);
    literals.push(text.slice(last, match.index));
    names.push(match[1]);
    last = (match.index ?? 0) + match[0].length;
  }
  literals.push(text.slice(last));
  if (names.length === 0) return () => text;
  return (fields) => {
    const own = fields as Record<string, unknown>;
    let out = literals[0];
    for (let i = 0; i < names.length; i++) out += show(Object.hasOwn(own, names[i]) ? own[names[i]] : undefined) + literals[i + 1];
    return out;
  };
}

function show(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.join('..');
  return typeof value === 'object' || typeof value === 'function' ? '' : String(value);
}
