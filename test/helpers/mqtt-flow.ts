// Core mqtt nodes for flows under test: one MQTT 5 connection to the test broker, and mqtt in / mqtt out nodes on it.
import type { FlowNode } from './node-red';

/** The mqtt-broker config node `id` for the broker on 127.0.0.1:`port`. */
export function mqttBrokerNode(id: string, port: number): FlowNode {
  return {
    id,
    type: 'mqtt-broker',
    broker: '127.0.0.1',
    port: String(port),
    clientid: '',
    autoConnect: true,
    usetls: false,
    protocolVersion: '5',
    keepalive: '15',
    cleansession: true,
    autoUnsubscribe: true,
  };
}

/** An mqtt in node of tab `z` on connection `broker`: QoS 1, payloads parsed, each message wired to `to`. */
export function mqttInNode(o: { id: string; z: string; broker: string; topic: string; to: string }): FlowNode {
  return {
    id: o.id,
    type: 'mqtt in',
    z: o.z,
    topic: o.topic,
    qos: '1',
    datatype: 'auto-detect',
    broker: o.broker,
    nl: false,
    rap: true,
    rh: 0,
    inputs: 0,
    wires: [[o.to]],
  };
}

/** An mqtt out node of tab `z` on connection `broker`: topic, QoS and retain taken from each message. */
export function mqttOutNode(o: { id: string; z: string; broker: string }): FlowNode {
  return { id: o.id, type: 'mqtt out', z: o.z, topic: '', qos: '', retain: '', broker: o.broker, wires: [] };
}
