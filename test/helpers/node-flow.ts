// The flow most node tests load: a registry config node and the node under test on tab f1, its two outputs wired
// to the helper nodes `out` and `events`, and its errors through a Catch node to `caught`.
import type { NodeMessage } from '../../nodes/shared/node-red';
import type { FlowNode, TestNode } from './node-red';

/** [registry, node under test, out, events, catcher, caught, tab]: the registry first and the node second. */
export function registryNodeFlow(registry: FlowNode, node: FlowNode): FlowNode[] {
  return [
    registry,
    { ...node, z: 'f1', wires: [['out'], ['events']] },
    { id: 'out', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

/** Resolves with the next message the node receives. */
export function nextMessage(node: TestNode): Promise<NodeMessage> {
  return new Promise((resolve) => node.on('input', resolve));
}
