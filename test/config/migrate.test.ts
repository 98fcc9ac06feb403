import assert from 'assert';
import { M2MError } from '../../lib/errors';
import { migrateConfig, type MigrationStep } from '../../lib/config/migrate';
import { defineNodeConfig } from '../../lib/config/reader';

function rejects(run: () => unknown, field: string, message: RegExp): void {
  assert.throws(run, (err: unknown) => err instanceof M2MError && err.code === 'INVALID_CONFIG' && err.field === field && message.test(err.message));
}

describe('config migrations (lib/config/migrate.ts)', () => {
  // each step appends its version, so the order and the skipped ones show in `trail`
  const steps: MigrationStep[] = [1, 2, 3].map((version) => ({
    version,
    up(config) {
      config.trail = [...((config.trail as number[] | undefined) ?? []), version];
    },
  }));

  it('a config saved without a version is version 0 and gets every step, in order', () => {
    const { config, from, to } = migrateConfig(steps, { id: 'n1', topic: 'a' });
    assert.deepStrictEqual({ from, to }, { from: 0, to: 3 });
    assert.deepStrictEqual(config, { id: 'n1', topic: 'a', trail: [1, 2, 3], version: 3 });
  });

  it('skips the steps a config already had, and leaves the saved object as it was', () => {
    const saved = { version: 2, trail: [1, 2] };
    assert.deepStrictEqual(migrateConfig(steps, saved).config, { version: 3, trail: [1, 2, 3] });
    assert.deepStrictEqual(saved, { version: 2, trail: [1, 2] });
    assert.deepStrictEqual(migrateConfig(steps, { version: '3' }).config, { version: 3 });
  });

  it('refuses a config from a newer release, naming version', () => {
    rejects(
      () => migrateConfig(steps, { version: 4 }),
      'version',
      /^version 4 is a config saved by a newer release of @m2mflow\/node-red-m2m \(this release reads up to version 3\)/,
    );
    rejects(() => migrateConfig([], { version: 1 }), 'version', /newer release/);
  });

  it('refuses a version that is not a whole number', () => {
    for (const version of [-1, 1.5, 'two', true, {}]) rejects(() => migrateConfig(steps, { version }), 'version', /version must be a whole number/);
  });

  it('a type whose steps are not numbered 1, 2, 3 … is a bug caught when it is defined', () => {
    assert.throws(
      () => defineNodeConfig({ type: 'm2m-test', steps: [steps[0], steps[2]], schema: { type: 'object', properties: {} } }),
      /step 1 has version 3, expected 2/,
    );
  });
});

describe('config reader (lib/config/reader.ts)', () => {
  const reader = defineNodeConfig<{ version: number; name: string; count: number; mode: string; on: boolean; seconds: number; list: string[] }>({
    type: 'm2m-test',
    steps: [{ version: 1, up: (config) => void (config.seconds ??= 7) }],
    schema: {
      type: 'object',
      properties: {
        name: { type: 'string', default: 'x' },
        count: { type: 'integer', minimum: 1, maximum: 10, default: 3 },
        mode: { type: 'string', enum: ['a', 'b'], default: 'a' },
        on: { type: 'boolean', default: true },
        seconds: { type: 'number', exclusiveMinimum: 0, default: 1 },
        list: { type: 'array', items: { type: 'string' }, default: ['p'] },
      },
    },
  });

  it('fills defaults, coerces the strings the editor saves, keeps text as typed, and reads only its properties', () => {
    assert.deepStrictEqual(
      reader.read({ id: 'n1', type: 'm2m-test', wires: [], version: 1, name: '', count: ' 4 ', mode: '', on: 'false', seconds: '', list: '' }),
      {
        version: 1,
        name: '',
        count: 4,
        mode: 'a',
        on: false,
        seconds: 1,
        list: ['p'],
      },
    );
  });

  it('migrates before it reads: a version 0 config gets the step', () => {
    assert.strictEqual(reader.read({}).seconds, 7);
    assert.strictEqual(reader.read({ version: 1 }).seconds, 1);
  });

  it('names the property and the value refused', () => {
    rejects(() => reader.read({ count: '11' }), 'count', /^count must be <= 10, got 11$/);
    rejects(() => reader.read({ count: 'ten' }), 'count', /count must be integer, got "ten"/);
    rejects(() => reader.read({ mode: 'c' }), 'mode', /mode must be one of a, b, got "c"/);
    rejects(() => reader.read({ version: 1, seconds: 0 }), 'seconds', /seconds must be > 0, got 0/);
    rejects(() => reader.read({ list: ['p', {}] }), 'list', /list\[1\] must be string, got \{\}/);
    rejects(() => reader.read({ version: 2 }), 'version', /newer release/);
  });

  it('holds each default once: defaults() lists them with the current version', () => {
    assert.deepStrictEqual(reader.defaults(), { name: 'x', count: 3, mode: 'a', on: true, seconds: 1, list: ['p'], version: 1 });
    const first = reader.read({});
    first.list.push('changed');
    assert.deepStrictEqual(reader.read({}).list, ['p'], 'a default is never shared between nodes');
  });
});
