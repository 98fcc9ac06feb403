// Shared pieces of the m2m-command node tests: a flow with core mqtt in/out nodes, the command node and the
// simulator, and a collector of status events.
import { randomBytes } from 'crypto';
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { StatusEvent } from '../../lib/command';
import commandNode from '../../nodes/m2m-command/m2m-command';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import { catchNode, type FlowNode, type NodeModule, type TestNode } from '../helpers/node-red';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js') as NodeModule;

export const MODULES: NodeModule[] = [mqttNodes, catchNode, registryNode as NodeModule, commandNode as NodeModule, simulatorNode as NodeModule];

/** A topic prefix of its own per run, so parallel runs on the shared broker do not see each other's messages. */
export function uniquePrefix(name: string): string {
  return `m2mtest/${name}-${randomBytes(4).toString('hex')}`;
}

export interface LoopOptions {
  port: number;
  /** '5' (MQTT 5) or '4' (MQTT 3.1.1) for both broker connections. */
  protocolVersion: '4' | '5';
  prefix: string;
  devices: number;
  command?: Record<string, unknown>;
  simulator?: Record<string, unknown>;
}

function broker(id: string, port: number, protocolVersion: string): FlowNode {
  return {
    id,
    type: 'mqtt-broker',
    name: `${id} connection`,
    broker: '127.0.0.1',
    port: String(port),
    clientid: '',
    autoConnect: true,
    usetls: false,
    protocolVersion,
    keepalive: '15',
    cleansession: true,
    autoUnsubscribe: true,
    birthTopic: '',
    closeTopic: '',
    willTopic: '',
  };
}

/**
 * inject -> m2m-command -> mqtt out ~ broker ~ mqtt in -> m2m-simulator -> mqtt out ~ broker ~ mqtt in -> m2m-command,
 * with status events to the `events` helper and errors to `caught`.
 */
export function loopFlow(o: LoopOptions): FlowNode[] {
  const commandTopic = `${o.prefix}/{deviceId}/commands/{command}`;
  const replyTopic = `${o.prefix}/{deviceId}/replies`;
  return [
    { id: 'f1', type: 'tab' },
    broker('plantBroker', o.port, o.protocolVersion),
    broker('deviceBroker', o.port, o.protocolVersion),
    { id: 'cmd', type: 'm2m-command', z: 'f1', topic: commandTopic, replyTopic, timeout: 10, backoff: 0.05, ...o.command, wires: [['cmdOut'], ['events']] },
    { id: 'cmdOut', type: 'mqtt out', z: 'f1', broker: 'plantBroker', topic: '', qos: '', retain: '' },
    { id: 'replyIn', type: 'mqtt in', z: 'f1', broker: 'plantBroker', topic: `${o.prefix}/+/replies`, qos: '1', datatype: 'auto-detect', wires: [['cmd']] },
    {
      id: 'commandIn',
      type: 'mqtt in',
      z: 'f1',
      broker: 'deviceBroker',
      topic: `${o.prefix}/+/commands/+`,
      qos: '1',
      datatype: 'auto-detect',
      wires: [['sim']],
    },
    {
      id: 'sim',
      type: 'm2m-simulator',
      z: 'f1',
      devices: o.devices,
      idPrefix: 'dev-',
      interval: 0,
      latency: 0,
      commandTopic,
      replyTopic,
      seed: '7',
      ...o.simulator,
      wires: [['replyOut']],
    },
    { id: 'replyOut', type: 'mqtt out', z: 'f1', broker: 'deviceBroker', topic: '', qos: '', retain: '' },
    { id: 'events', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

export function deviceIds(count: number): string[] {
  const width = Math.max(3, String(count).length);
  return Array.from({ length: count }, (_, i) => `dev-${String(i + 1).padStart(width, '0')}`);
}

/** Status events by command id, in arrival order. */
export class EventLog {
  readonly all: StatusEvent[] = [];
  readonly byId = new Map<string, StatusEvent[]>();
  private waiters: Array<() => void> = [];

  constructor(node: TestNode) {
    node.on('input', (msg: NodeMessage) => {
      const event = msg.payload as StatusEvent;
      this.all.push(event);
      let list = this.byId.get(event.id);
      if (!list) this.byId.set(event.id, (list = []));
      list.push(event);
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w());
    });
  }

  ended(): StatusEvent[] {
    return this.all.filter((e) => e.status !== 'queued' && e.status !== 'sent');
  }

  /** Resolves once `condition` holds, checked after each event; rejects after `ms` of real time. */
  until(condition: () => boolean, what: string, ms = 30_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; ${this.all.length} events so far`)), ms);
      const check = (): void => {
        if (condition()) {
          clearTimeout(timer);
          resolve();
        } else {
          this.waiters.push(check);
        }
      };
      check();
    });
  }
}
