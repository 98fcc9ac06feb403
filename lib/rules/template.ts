// Alarm text templates, split once into literal and field parts so that rendering is a join.

export type TemplateFields = Record<string, string | number | boolean | null | readonly number[]>;
export type Template = (fields: TemplateFields) => string;

const FIELD = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function compileTemplate(text: string): Template {
  const literals: string[] = [];
  const names: string[] = [];
  let last = 0;
  for (const match of text.matchAll(FIELD)) {
    literals.push(text.slice(last, match.index));
    names.push(match[1]);
    last = (match.index ?? 0) + match[0].length;
  }
  literals.push(text.slice(last));
  if (names.length === 0) return () => text;
  return (fields) => {
    let out = literals[0];
    for (let i = 0; i < names.length; i++) out += show(fields[names[i]]) + literals[i + 1];
    return out;
  };
}

function show(value: TemplateFields[string] | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return value.join('..');
  return String(value);
}
