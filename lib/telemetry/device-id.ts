import { CODES, fail } from './fail';

// Topic patterns such as `devices/{deviceId}/telemetry`: split once, matched level by level (no regex per message).

const PLACEHOLDER = '{deviceId}';

/** The pattern `auto` falls back on when none is configured (also the editor's default). */
export const DEFAULT_TOPIC_PATTERN = 'devices/{deviceId}/telemetry';

interface Level {
  kind: 'literal' | 'single' | 'rest' | 'id';
  text: string;
  prefix: string;
  suffix: string;
}

export interface TopicPattern {
  pattern: string;
  levels: readonly Level[];
}

export function compileTopicPattern(pattern: string): TopicPattern {
  const text = typeof pattern === 'string' ? pattern.trim() : '';
  if (text === '') fail(CODES.config, 'topic pattern is empty', 'topicPattern');
  const parts = text.split('/');
  let ids = 0;
  const levels = parts.map((part, index): Level => {
    if (part === '#') {
      if (index !== parts.length - 1) fail(CODES.config, `topic pattern "${text}": # must be the last level`, 'topicPattern');
      return { kind: 'rest', text: part, prefix: '', suffix: '' };
    }
    if (part === '+') return { kind: 'single', text: part, prefix: '', suffix: '' };
    const at = part.indexOf(PLACEHOLDER);
    if (at >= 0) {
      ids++;
      return { kind: 'id', text: part, prefix: part.slice(0, at), suffix: part.slice(at + PLACEHOLDER.length) };
    }
    return { kind: 'literal', text: part, prefix: '', suffix: '' };
  });
  if (ids !== 1) fail(CODES.config, `topic pattern "${text}" must contain {deviceId} exactly once as (part of) a level`, 'topicPattern');
  return { pattern: text, levels };
}

/** The device id level of `topic`, or an error when the topic does not match the pattern. */
export function deviceIdFromTopic(compiled: TopicPattern, topic: unknown): string {
  if (typeof topic !== 'string') return fail(CODES.noDeviceId, `msg.topic is missing; expected ${compiled.pattern}`, 'topic');
  const id = matchTopic(compiled, topic);
  if (id === undefined) fail(CODES.noDeviceId, `topic "${topic.slice(0, 200)}" does not match ${compiled.pattern}`, 'topic');
  return id;
}

/** The device id level of `topic` when it matches the pattern, else undefined. */
export function matchTopic(compiled: TopicPattern, topic: string): string | undefined {
  const parts = topic.split('/');
  const levels = compiled.levels;
  let id: string | undefined;
  let matched = parts.length === levels.length;
  for (let i = 0; i < levels.length && i < parts.length; i++) {
    const level = levels[i];
    const part = parts[i];
    if (level.kind === 'rest') {
      matched = true;
      break;
    }
    if (level.kind === 'literal' && part !== level.text) {
      matched = false;
      break;
    }
    if (level.kind === 'id') {
      if (part.length <= level.prefix.length + level.suffix.length || !part.startsWith(level.prefix) || !part.endsWith(level.suffix)) {
        matched = false;
        break;
      }
      id = part.slice(level.prefix.length, part.length - level.suffix.length);
    }
  }
  return matched ? id : undefined;
}
