// The editor's checks come from lib/, generated into resources/m2m-config.js at build time: the constants equal
// lib's, the validators agree with the runtime's checks, and no node's .html keeps a copy of its own.
import assert from 'assert';
import fs from 'fs';
import path from 'path';
import vm from 'vm';
import { checkTemplate, TOPIC_PLACEHOLDERS } from '../../lib/command/topics';
import { editorConstants, editorScript, loadNodeConfigs } from '../../lib/config/editor-script';
import { DEVICE_ID, isDeviceId } from '../../lib/ids';
import { SIMULATOR_FORMATS } from '../../lib/simulator/encoders';
import { FORMATS } from '../../lib/telemetry/types';
import { NODES_DIR } from './editor';

type Check = (v: unknown) => true | string;
interface Validators {
  deviceId: Check;
  idLike(min: number, max: number): Check;
  oneOf(list: readonly string[]): Check;
  number(options: { min?: number; max?: number; above?: number; integer?: boolean; empty?: boolean }): Check;
  topicTemplate(options?: { requires?: string }): Check;
  json: Check;
}

function generated(script: string, RED: unknown = {}): { constants: Record<string, unknown>; validators: Validators } {
  const window: { M2M_CONFIG?: { constants: Record<string, unknown>; validators: Validators } } = {};
  vm.runInNewContext(script, { window, RED, $: () => ({}) });
  const api = window.M2M_CONFIG as { constants: Record<string, unknown>; validators: Validators };
  // through JSON: made in the sandbox, with its own Array
  return { constants: JSON.parse(JSON.stringify(api.constants)) as Record<string, unknown>, validators: api.validators };
}

describe('editor script: constants and validators generated from lib/', () => {
  const { constants, validators } = generated(editorScript(loadNodeConfigs(NODES_DIR)));

  it("holds lib's device id pattern, formats and topic placeholders", () => {
    assert.strictEqual(constants.deviceIdPattern, DEVICE_ID.source);
    assert.deepStrictEqual(constants.telemetryFormats, [...FORMATS]);
    assert.deepStrictEqual(constants.simulatorFormats, [...SIMULATOR_FORMATS]);
    assert.deepStrictEqual(constants.topicPlaceholders, [...TOPIC_PLACEHOLDERS]);
    assert.deepStrictEqual(constants, JSON.parse(JSON.stringify(editorConstants())));
  });

  it('the built resources/m2m-config.js says the same (when built)', function () {
    const built = path.join(NODES_DIR, '..', 'resources', 'm2m-config.js');
    if (!fs.existsSync(built)) this.skip();
    assert.deepStrictEqual(generated(fs.readFileSync(built, 'utf8')).constants, constants);
  });

  it('the device id check accepts and refuses what lib/ids.ts does, with a message naming the character', () => {
    for (const id of ['press-07', 'a', 'x'.repeat(128), 'x'.repeat(129), '', 'a/b', 'a+b', 'a#', 'hall 2', 'ü', 'urn:dev:1', 'a.b_c-d']) {
      assert.strictEqual(validators.deviceId(id) === true, isDeviceId(id), id);
    }
    assert.match(String(validators.deviceId('a/b')), /"\/" is not allowed in a device id: only A-Z a-z 0-9 \. _ : -/);
    assert.match(String(validators.deviceId('')), /1 to 128 characters/);
  });

  it('the topic template check refuses what lib/command/topics.ts refuses, saying why', () => {
    for (const template of ['devices/{deviceId}/commands/{command}', 'd/{id}', 'd/+/x', 'd/#', '', 'd/{device}', 'd/{deviceId}{command}']) {
      let runtime = true;
      try {
        checkTemplate(template, 'topic');
      } catch {
        runtime = false;
      }
      assert.strictEqual(validators.topicTemplate()(template) === true, runtime, template);
    }
    assert.strictEqual(validators.topicTemplate()('d/{device}'), 'unknown placeholder {device}: use {deviceId}, {command}, {id}');
    assert.strictEqual(validators.topicTemplate({ requires: 'deviceId' })('d/x'), 'the topic must hold {deviceId}');
  });

  it('range checks name the range; blank is the default only where allowed', () => {
    const pageSize = validators.number({ min: 1, max: 1000, integer: true });
    assert.deepStrictEqual(
      [pageSize('100'), pageSize('0'), pageSize('2.5'), pageSize('')],
      [true, 'must be a whole number from 1 to 1000', 'must be a whole number from 1 to 1000', 'must be a whole number from 1 to 1000'],
    );
    assert.strictEqual(validators.number({ above: 0, empty: true })(''), true);
    assert.strictEqual(validators.number({ above: 0, max: 31536000 })('0'), 'must be a number above 0 to 31536000');
    assert.strictEqual(validators.oneOf(FORMATS)('xml'), `must be one of ${FORMATS.join(', ')}`);
    assert.match(String(validators.json('{')), /^not valid JSON/);
  });

  it('messages come from the catalog when the editor has loaded it (i18n), English otherwise', () => {
    const RED = { _: (key: string, params?: { bad?: string }) => (key.endsWith('deviceIdCharacter') ? `«${params?.bad}» interdit` : key) };
    assert.strictEqual(generated(editorScript(loadNodeConfigs(NODES_DIR)), RED).validators.deviceId('a/b'), '«/» interdit');
    const catalog = JSON.parse(fs.readFileSync(path.join(NODES_DIR, 'm2m-registry', 'locales', 'en-US', 'm2m-registry.json'), 'utf8')) as {
      validation: Record<string, string>;
    };
    const script = editorScript(loadNodeConfigs(NODES_DIR));
    const used = [...script.matchAll(/message\('(\w+)'/g)].map((m) => m[1]);
    assert.deepStrictEqual(
      [...new Set(used)].filter((key) => !(key in catalog.validation)),
      [],
      'every message key is in m2m-registry.json "validation"',
    );
  });

  it("no node's .html keeps its own copy of the id pattern, the format lists or the placeholder check", () => {
    const copies: string[] = [];
    for (const type of fs.readdirSync(NODES_DIR)) {
      const file = path.join(NODES_DIR, type, `${type}.html`);
      if (!fs.existsSync(file)) continue;
      const html = fs.readFileSync(file, 'utf8');
      if (html.includes('A-Za-z0-9._:-')) copies.push(`${type}: device id characters`);
      if (/\[\s*'json',\s*'senml'/.test(html)) copies.push(`${type}: a format list`);
      if (/deviceId\\\}\|command/.test(html)) copies.push(`${type}: the placeholder pattern`);
    }
    assert.deepStrictEqual(copies, []);
  });
});
