import fs from 'fs';
import path from 'path';
import { TOPIC_PLACEHOLDERS } from '../command/topics';
import { DEVICE_ID } from '../ids';
import { SIMULATOR_FORMATS } from '../simulator/encoders';
import { FORMATS } from '../telemetry/types';
import type { MigrationStep } from './migrate';

// The editor applies the same migration steps as the runtime when a node's edit dialog opens. The build writes
// them into resources/m2m-config.js (Node-RED serves a package's resources/ folder to the editor), from the
// steps' own source text: one source for both sides. Each .html loads it and calls M2M_CONFIG.prepare(this)
// first thing in oneditprepare.

export const EDITOR_SCRIPT_FILE = 'm2m-config.js';

/** What the editor's checks need from lib/, written into the script at build time so no .html keeps a copy. */
export interface EditorConstants {
  /** lib/ids.ts DEVICE_ID, as regex source. */
  deviceIdPattern: string;
  /** The characters a device id may hold (the class inside the pattern), for prefixes and messages. */
  deviceIdCharacters: string;
  deviceIdMaxLength: number;
  telemetryFormats: readonly string[];
  simulatorFormats: readonly string[];
  /** The {names} a command or simulator topic template may hold. */
  topicPlaceholders: readonly string[];
}

export function editorConstants(): EditorConstants {
  const [, characters, max] = /^\^\[([^\]]+)\]\{1,(\d+)\}\$$/.exec(DEVICE_ID.source) ?? [];
  if (!characters) throw new Error(`lib/ids.ts DEVICE_ID ${DEVICE_ID.source} is no longer [chars]{1,max}: update editorConstants`);
  return {
    deviceIdPattern: DEVICE_ID.source,
    deviceIdCharacters: characters,
    deviceIdMaxLength: Number(max),
    telemetryFormats: [...FORMATS],
    simulatorFormats: [...SIMULATOR_FORMATS],
    topicPlaceholders: [...TOPIC_PLACEHOLDERS],
  };
}

/** A step's `up` as a function expression: a method `up(config) {…}` becomes `function up(config) {…}`. */
function functionSource(step: MigrationStep): string {
  const source = step.up.toString();
  return /^up\s*\(/.test(source) ? `function ${source}` : source;
}

// Validators for a node's defaults (validate: M2M_CONFIG.validators.…): each returns true, or the message the editor
// shows beside the field (Node-RED 3.1+). Messages come from the m2m-registry catalog (locales/en-US/m2m-registry.json,
// "validation"), with English if it is not loaded.
const VALIDATORS = `
  var NS = '@m2mflow/node-red-m2m/m2m-registry:validation.';
  function message(key, english, params) {
    var text = typeof RED !== 'undefined' && RED._ ? RED._(NS + key, params) : undefined;
    if (typeof text === 'string' && text !== NS + key && text !== 'validation.' + key && text !== key) { return text; }
    return english.replace(/__(\\w+)__/g, function (m, name) { return params && params[name] !== undefined ? params[name] : m; });
  }
  var ID = new RegExp(CONSTANTS.deviceIdPattern);
  var ID_CHARACTER = new RegExp('[' + CONSTANTS.deviceIdCharacters + ']');
  var readable = CONSTANTS.deviceIdCharacters.match(/.-.|./g).join(' ');
  function badCharacter(v) { return String(v).split('').filter(function (c) { return !ID_CHARACTER.test(c); })[0]; }
  var validators = {
    /** A device id, as lib/ids.ts checks it. */
    deviceId: function (v) {
      if (ID.test(v || '')) { return true; }
      var bad = badCharacter(v || '');
      return bad !== undefined
        ? message('deviceIdCharacter', '"__bad__" is not allowed in a device id: only __chars__', { bad: bad, chars: readable })
        : message('deviceIdLength', 'a device id is 1 to __max__ characters of __chars__', { max: CONSTANTS.deviceIdMaxLength, chars: readable });
    },
    /** Text of the id's characters, min to max of them (a prefix of ids: min 0; a registry name: 1 to 64). */
    idLike: function (min, max) {
      return function (v) {
        var text = String(v === undefined || v === null ? '' : v);
        var bad = badCharacter(text);
        if (bad !== undefined) { return message('deviceIdCharacter', '"__bad__" is not allowed in a device id: only __chars__', { bad: bad, chars: readable }); }
        return (text.length >= min && text.length <= max) || message('length', '__min__ to __max__ characters', { min: min, max: max });
      };
    },
    /** One of the values of a list (CONSTANTS.telemetryFormats, …). */
    oneOf: function (list) {
      return function (v) { return list.indexOf(v) !== -1 || message('oneOf', 'must be one of __list__', { list: list.join(', ') }); };
    },
    /**
     * A number in a range. options: min, max, above (a lower bound it must exceed), integer, empty (blank means the
     * default).
     */
    number: function (options) {
      var o = options || {};
      return function (v) {
        if ((v === '' || v === undefined || v === null) && o.empty) { return true; }
        var n = Number(v);
        var ok = String(v).trim() !== '' && isFinite(n) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max) &&
          (o.above === undefined || n > o.above) && (!o.integer || Math.floor(n) === n);
        if (ok) { return true; }
        var low = o.above !== undefined ? message('above', 'above __n__', { n: o.above }) : o.min !== undefined ? message('from', 'from __n__', { n: o.min }) : '';
        var high = o.max !== undefined ? message('to', 'to __n__', { n: o.max }) : '';
        return message(o.integer ? 'wholeNumber' : 'number', o.integer ? 'must be a whole number __range__' : 'must be a number __range__', { range: (low + ' ' + high).trim() });
      };
    },
    /**
     * An MQTT topic template as lib/command/topics.ts checks it: not empty, no wildcard, only known {placeholders}.
     * options: names (default CONSTANTS.topicPlaceholders), requires (a name it must hold).
     */
    topicTemplate: function (options) {
      var o = options || {};
      var names = o.names || CONSTANTS.topicPlaceholders;
      return function (v) {
        var text = String(v === undefined || v === null ? '' : v);
        if (text.trim() === '') { return message('topicEmpty', 'a topic is needed'); }
        if (/[+#]/.test(text)) { return message('topicWildcard', 'a topic to publish to holds no wildcard + or #'); }
        var placeholders = text.match(/\\{[^}]*\\}/g) || [];
        for (var i = 0; i < placeholders.length; i++) {
          if (names.indexOf(placeholders[i].slice(1, -1)) === -1) {
            return message('topicPlaceholder', 'unknown placeholder __found__: use __names__', { found: placeholders[i], names: names.map(function (n) { return '{' + n + '}'; }).join(', ') });
          }
        }
        if (o.requires && text.indexOf('{' + o.requires + '}') === -1) { return message('topicRequires', 'the topic must hold {__name__}', { name: o.requires }); }
        return true;
      };
    },
    /** JSON text, or empty. */
    json: function (v) {
      if (!v) { return true; }
      try { JSON.parse(v); return true; } catch (e) { return message('json', 'not valid JSON: __error__', { error: e.message }); }
    }
  };
`;

// What the editors of the Dashboard 2.0 widget nodes (ui-m2m-alarms, ui-m2m-devices) share: the palette colour, the
// group, order and size properties, and the size button of the dialog.
const DASHBOARD = `
  var dashboard = {
    /** The dashboard widgets' colour (its catalog's key comes back untranslated when the dashboard is not installed). */
    colour: function () {
      var colour = RED._('@flowfuse/node-red-dashboard/ui-base:ui-base.colors.light');
      return colour.charAt(0) === '#' ? colour : '#a6bbcf';
    },
    /** The group, order, width and height defaults; the width must fit the group's. */
    defaults: function () {
      return {
        group: { type: 'ui-group', required: true },
        order: { value: 0 },
        width: {
          value: 0,
          validate: function (v) {
            var width = v || 0;
            var group = RED.nodes.node($('#node-input-group').val() || this.group);
            var valid = !group || +width <= +group.width;
            $('#node-input-size').toggleClass('input-error', !valid);
            return valid;
          }
        },
        height: { value: 0 }
      };
    },
    /** For oneditprepare: the size button sets width and height within the group. */
    prepare: function () {
      $('#node-input-size').elementSizer({ width: '#node-input-width', height: '#node-input-height', group: '#node-input-group' });
    }
  };
`;

/** The editor script for these node types (type → its steps and current version). */
export function editorScript(
  types: ReadonlyArray<{ type: string; version: number; steps: readonly MigrationStep[] }>,
  constants: EditorConstants = editorConstants(),
): string {
  const entries = types.map(({ type, version, steps }) => {
    const list = steps.map((step) => `{ version: ${step.version}, up: ${functionSource(step)} }`).join(',\n      ');
    return `    ${JSON.stringify(type)}: { version: ${version}, steps: [\n      ${list}\n    ] }`;
  });
  return `/* eslint-disable */
// Generated by scripts/build.js from nodes/<type>/config.ts (lib/config/editor-script.ts): do not edit.
(function () {
  'use strict';
  var TYPES = {
${entries.join(',\n')}
  };
  var CONSTANTS = ${JSON.stringify(constants, null, 2).replace(/\n/g, '\n  ')};
${VALIDATORS}${DASHBOARD}
  /** Steps the node's saved properties up to today's version, in place; as lib/config/migrate.ts does at deploy. */
  function migrate(type, config) {
    var known = TYPES[type];
    if (!known) { return { error: type + ' has no migration steps' }; }
    var raw = config.version;
    var from = raw === undefined || raw === null || raw === '' ? 0 : Number(raw);
    if (!(from >= 0 && Math.floor(from) === from)) { return { error: 'version must be a whole number 0 or more, got ' + JSON.stringify(raw) }; }
    if (from > known.version) { return { error: 'version ' + from + ' is a config saved by a newer release of @m2mflow/node-red-m2m (this release reads up to version ' + known.version + ')' }; }
    known.steps.forEach(function (step) { if (step.version > from) { step.up(config); } });
    config.version = known.version;
    return { from: from, to: known.version };
  }

  /**
   * For oneditprepare: migrates the node being edited, gives a property the node was saved without its default (as
   * the runtime reads it), shows these values in the fields the dialog already filled, and marks the node and the
   * flow changed, so that a deploy saves today's shape.
   */
  function prepare(node) {
    var result = migrate(node.type, node);
    if (result.error) { RED.notify(node.type + ': ' + result.error, 'error'); return result; }
    var defaults = (node._def && node._def.defaults) || {};
    var filled = Object.keys(defaults).filter(function (name) {
      if (node[name] !== undefined || defaults[name].value === undefined) { return false; }
      node[name] = JSON.parse(JSON.stringify(defaults[name].value));
      return true;
    });
    if (result.from === result.to && filled.length === 0) { return result; }
    var prefix = node._def && node._def.category === 'config' ? 'node-config-input-' : 'node-input-';
    Object.keys(defaults).forEach(function (name) {
      var input = $('#' + prefix + name);
      var value = node[name];
      if (!input.length || (value !== null && typeof value === 'object')) { return; }
      if (input.attr('type') === 'checkbox') { input.prop('checked', value === true); } else { input.val(value === undefined ? '' : value); }
    });
    node.changed = true;
    node.dirty = true;
    RED.nodes.dirty(true);
    return result;
  }

  window.M2M_CONFIG = { types: TYPES, migrate: migrate, prepare: prepare, constants: CONSTANTS, validators: validators, dashboard: dashboard };
})();
`;
}

/** What a nodes/<type>/config module exports: its node config (see lib/config/reader.ts defineNodeConfig). */
export interface TypeSteps {
  type: string;
  version: number;
  steps: readonly MigrationStep[];
}

function isTypeSteps(value: unknown): value is TypeSteps {
  const v = value as Partial<TypeSteps> | null;
  return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.version === 'number' && Array.isArray(v.steps);
}

/** The node configs of every `<nodesDir>/<type>/config` module (compiled .js in dist, .ts under tsx), by type name. */
export function loadNodeConfigs(nodesDir: string): TypeSteps[] {
  const configs: TypeSteps[] = [];
  for (const type of fs.readdirSync(nodesDir).sort()) {
    const dir = path.join(nodesDir, type);
    if (!fs.existsSync(path.join(dir, 'config.js')) && !fs.existsSync(path.join(dir, 'config.ts'))) continue;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(path.join(dir, 'config')) as Record<string, unknown>;
    configs.push(...Object.values(module).filter(isTypeSteps));
  }
  return configs;
}
