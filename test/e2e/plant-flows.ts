// The two plant examples as shipped, made ready for a test run: the broker and webhook of the test, topics and
// device ids of their own per run, fixed simulator seeds. Nothing else in the flows is changed.
import { randomBytes } from 'crypto';
import fs from 'fs';
import path from 'path';
import commandNode from '../../nodes/m2m-command/m2m-command';
import deviceNode from '../../nodes/m2m-device/m2m-device';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
import type { FlowNode, NodeModule } from '../helpers/node-red';

const EXAMPLES = path.join(__dirname, '../../examples');

const CORE = [
  'common/20-inject.js',
  'common/21-debug.js',
  'common/25-catch.js',
  'common/90-comment.js',
  'function/10-switch.js',
  'function/15-change.js',
  'function/80-template.js',
  'function/89-delay.js',
  'sequence/17-split.js',
  'network/10-mqtt.js',
  'network/21-httpin.js',
  'network/21-httprequest.js',
];

export function pluginModules(): NodeModule[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const core = CORE.map((file) => require(`@node-red/nodes/core/${file}`) as NodeModule);
  const pack = [registryNode, deviceNode, telemetryNode, ruleNode, commandNode, simulatorNode] as NodeModule[];
  return [...core, ...pack];
}

/** node-red-node-mysql, when it loads (it is a devDependency; Node-RED 5 runs may not have it). */
export function mysqlModule(): NodeModule | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('node-red-node-mysql/68-mysql.js') as NodeModule;
  } catch {
    return undefined;
  }
}

export const runTag = (): string => randomBytes(3).toString('hex');

function readExample(file: string, rewrite: (text: string) => string): FlowNode[] {
  return JSON.parse(rewrite(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'))) as FlowNode[];
}

/** A fixed seed, and replies without random jitter, so that the telemetry follows the seed whatever the commands. */
function withSeed(node: FlowNode, seed: string): FlowNode {
  return node.type === 'm2m-simulator' ? { ...node, seed, jitter: 0 } : node;
}

/**
 * examples/plant-monitoring.json on the test broker, under the topic root `topicRoot` instead of `plant`.
 * aedes (the fallback when Mosquitto is not reachable) speaks MQTT 3.1.1 only: there the connection is 3.1.1 and
 * replies find their command by the id in the payload instead of MQTT 5 correlation data.
 */
export function plantFlow(broker: { port: number; kind: 'mosquitto' | 'aedes' }, topicRoot: string, seed: string): FlowNode[] {
  const protocolVersion = broker.kind === 'aedes' ? '4' : '5';
  return readExample('plant-monitoring.json', (text) => text.replace(/plant\//g, `${topicRoot}/`)).map((node) =>
    node.type === 'mqtt-broker' ? { ...node, port: String(broker.port), protocolVersion } : withSeed(node, seed),
  );
}

/** The nodes of the history tab whose errors its catch node shows. */
export const HISTORY_NODES = [
  'history.template.ddl',
  'history.sim',
  'history.telemetry',
  'history.row.telemetry',
  'history.rules',
  'history.row.alarm',
  'history.mysql.tables',
  'history.mysql.store',
];

/**
 * examples/plant-history-mysql.json with device ids `<idPrefix>001` … instead of `hist-001` …, and without its
 * catch node: node-red-node-test-helper registers the catch type once per catch node in a flow, so a second one
 * (the plant tab has one) makes helper.load never return. The test watches errors of HISTORY_NODES instead.
 */
export function historyFlow(idPrefix: string, seed: string): FlowNode[] {
  return readExample('plant-history-mysql.json', (text) => text)
    .filter((node) => node.type !== 'catch' && node.id !== 'history.debug.errors')
    .map((node) => (node.type === 'm2m-simulator' ? { ...withSeed(node, seed), idPrefix } : node));
}
