import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import type { SinonSpy, SinonSpyCall } from 'sinon';
import { loadNodeConfigs } from '../../lib/config/editor-script';
import { migrateConfig } from '../../lib/config/migrate';
import type { NodeConfig, PropertySchema } from '../../lib/config/reader';
import { pluginModules } from '../e2e/plant-flows';
import { helper, waitFor, type FlowNode } from '../helpers/node-red';
import { editorSandbox, NODES_DIR } from './editor';

// Flows saved by the first release (frozen copies of its examples, and nodes written by hand): every m2m node
// steps up to today's config, keeps every property it saved, gets the first release's value for those it left
// out, migrates alike in the editor, and deploys in Node-RED without a configuration error.

const FIXTURES = path.join(__dirname, 'fixtures');
const configs = new Map((loadNodeConfigs(NODES_DIR) as Array<NodeConfig<Record<string, unknown>>>).map((c) => [c.type, c]));

function fixture(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as FlowNode[];
}

/** What the first release read from a saved value: numbers and booleans from the editor's text, '' as the default. */
function firstReleaseValue(property: PropertySchema, saved: unknown): unknown {
  const type = property.type;
  if ((type === 'number' || type === 'integer') && typeof saved === 'string') return Number(saved);
  if (type === 'boolean' && typeof saved === 'string') return saved === 'true';
  if (saved === '' && (property.minLength as number) > 0) return property.default;
  return saved;
}

/** What a later step adds to a saved property on purpose: m2m-rule version 2 names each rule's condition type. */
const STEPPED: Record<string, (value: unknown) => unknown> = {
  'm2m-rule.rules': (rules) => (Array.isArray(rules) ? rules.map((r: Record<string, unknown>) => ({ condition: 'threshold', ...r })) : rules),
};
const stepped = (type: string, name: string, value: unknown): unknown => (STEPPED[`${type}.${name}`] ?? ((v: unknown) => v))(value);

/** Through JSON: values made in the editor sandbox have its own Object and Array. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** The values the first release used for properties a node saved without (the editor saves them all), or saved empty or as text. */
const LEFT_OUT: Record<string, Record<string, unknown>> = {
  'min.registry': { name: '' },
  'min.sim': { metrics: [{ name: 'temperature', min: 18, max: 26, noise: 0.2, drift: 0.1, unit: 'Cel', lppType: 'temperature' }] },
  'min.sim.empty': { metrics: [{ name: 'temperature', min: 18, max: 26, noise: 0.2, drift: 0.1, unit: 'Cel', lppType: 'temperature' }] },
  'min.telemetry': { mapping: [], binarySpec: [{ name: 't', type: 'int16', byteOffset: 0 }], topicPattern: '' },
  'min.device': { operation: '' },
  'min.rule': { rules: [] },
};

describe('flows saved by the first release (test/config/fixtures)', () => {
  const files = fs.readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));
  const editor = editorSandbox();

  it('cover every node type of the first release', () => {
    const types = new Set(files.flatMap((f) => fixture(f).map((n) => n.type)));
    for (const type of ['m2m-registry', 'm2m-device', 'm2m-telemetry', 'm2m-rule', 'm2m-command', 'm2m-simulator'])
      assert.ok(types.has(type), `a fixture has ${type}`);
  });

  for (const file of files) {
    it(`${file}: each m2m node reads as it was saved (the first release's values for what it left out), in the runtime and the editor alike`, () => {
      for (const node of fixture(file).filter((n) => configs.has(n.type))) {
        const config = configs.get(node.type) as NodeConfig<Record<string, unknown>>;
        assert.strictEqual(node.version, undefined, `${node.id} is a version-0 node`);
        const read = config.read(node);
        const leftOut = LEFT_OUT[node.id] ?? {};
        for (const [name, property] of Object.entries(config.schema.properties)) {
          if (name in node && !(name in leftOut))
            assert.deepStrictEqual(read[name], stepped(node.type, name, firstReleaseValue(property, node[name])), `${node.id}.${name} as saved`);
        }
        for (const [name, value] of Object.entries(leftOut)) assert.deepStrictEqual(read[name], value, `${node.id}.${name} as the first release had it`);

        const inEditor = structuredClone(node);
        assert.deepStrictEqual(plain(editor.api.migrate(node.type, inEditor)), { from: 0, to: config.version });
        assert.deepStrictEqual(plain(inEditor), migrateConfig(config.steps, node).config, `${node.id}: the editor's steps are the runtime's`);
        assert.deepStrictEqual(config.read(plain(inEditor) as FlowNode), read, `${node.id} saved again by the editor reads the same`);
      }
    });
  }

  describe('deployed in Node-RED', function () {
    this.timeout(30_000);
    let userDir: string;
    before(() => {
      userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-config-fixtures-'));
      helper.settings({ userDir });
      return helper.startServer();
    });
    after(async () => {
      await helper.stopServer();
      helper.settings({ userDir: undefined });
      fs.rmSync(userDir, { recursive: true, force: true });
    });
    afterEach(() => helper.unload());

    /** The test helper spies on the node prototype's methods: the calls one node made. */
    function callsOf(spy: unknown, id: string): SinonSpyCall[] {
      return (spy as SinonSpy).getCalls().filter((c) => (c.thisValue as { id?: string }).id === id);
    }

    /**
     * The fixture with the core nodes that reach outside stubbed: debug and catch nodes as test helpers (the test
     * helper hangs on a second catch node), MySQL as helpers, brokers never connected.
     */
    function deployable(nodes: FlowNode[]): FlowNode[] {
      return nodes.map((node) => {
        if (['debug', 'catch', 'mysql', 'MySQLdatabase'].includes(node.type)) return { id: node.id, type: 'helper', z: node.z, wires: node.wires };
        if (node.type === 'mqtt-broker') return { ...node, autoConnect: false };
        return node;
      });
    }

    for (const file of files) {
      it(`${file}: every m2m node starts without a configuration error`, async () => {
        const flow = deployable(fixture(file));
        await helper.load(pluginModules(), flow);
        const m2m = flow.filter((n) => configs.has(n.type));
        assert.ok(m2m.length > 0);
        for (const { id, type } of m2m) {
          const node = helper.getNode(id);
          if (type === 'm2m-registry') {
            assert.strictEqual(node.registryError, undefined, `${id}: ${String(node.registryError)}`);
            continue;
          }
          const errors = callsOf(node.error, id).map((c) => String(c.args[0]));
          assert.deepStrictEqual(errors, [], `${id} logs no error`);
          const reds = callsOf(node.status, id).filter((c) => (c.args[0] as { fill?: string }).fill === 'red');
          assert.deepStrictEqual(
            reds.map((c) => c.args[0]),
            [],
            `${id} shows no red badge`,
          );
        }
        // the rules load their alarm state, the commands their store, before they show their first badge
        for (const { id } of m2m.filter((n) => n.type === 'm2m-rule' || n.type === 'm2m-command')) {
          const status = helper.getNode(id).status;
          await waitFor(() => callsOf(status, id).length > 0, `${id} to start`);
          assert.notStrictEqual((callsOf(status, id).at(-1)?.args[0] as { fill?: string }).fill, 'red', `${id} started`);
        }
      });
    }
  });
});
