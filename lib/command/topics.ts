import { M2MError } from '../errors';

// Topic templates: `{deviceId}`, `{command}` and `{id}` are filled per command. Every filled value has passed the
// device id contract, so none can add a topic level or a wildcard.

const PLACEHOLDER = /\{(deviceId|command|id)\}/g;
/** The names a template may hold in braces (the editor's check is generated from this list). */
export const TOPIC_PLACEHOLDERS = ['deviceId', 'command', 'id'] as const;

export interface TopicValues {
  deviceId: string;
  command: string;
  id: string;
}

export type TopicFiller = (values: TopicValues) => string;

export function checkTemplate(template: unknown, field: string): string {
  if (typeof template !== 'string' || template.trim() === '') {
    throw new M2MError('INVALID_CONFIG', `${field} must be a non-empty topic template`, { field });
  }
  if (/[+#]/.test(template)) throw new M2MError('INVALID_CONFIG', `${field} must not contain the wildcards + or #`, { field });
  const unknown = template.match(/\{(?!deviceId\}|command\}|id\})[^}]*\}/);
  if (unknown) throw new M2MError('INVALID_CONFIG', `${field} has an unknown placeholder ${unknown[0]}; use {deviceId}, {command} or {id}`, { field });
  return template;
}

/** Compiles a template once into a function of string pieces, so filling it costs a few concatenations. */
export function compileTemplate(template: string): TopicFiller {
  const parts = template.split(PLACEHOLDER);
  // split with a capture group alternates literal, name, literal, name, ...
  return (values) => {
    let topic = parts[0];
    for (let i = 1; i < parts.length; i += 2) topic += values[parts[i] as keyof TopicValues] + parts[i + 1];
    return topic;
  };
}

/** A regular expression that matches topics made from the template, capturing the device id when it has one. */
export function templatePattern(template: string): RegExp {
  const escaped = template.replace(/[.*?^$()[\]\\|]/g, '\\$&');
  let named = false;
  const source = escaped.replace(PLACEHOLDER, (_m, name: string) => {
    if (name !== 'deviceId' || named) return '[^/]+';
    named = true;
    return '(?<deviceId>[^/]+)';
  });
  return new RegExp(`^${source}$`);
}

/** The MQTT subscription that covers every topic the template can make (`{x}` becomes `+`). */
export function templateSubscription(template: string): string {
  return template.replace(PLACEHOLDER, '+');
}
