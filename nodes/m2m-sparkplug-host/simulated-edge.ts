import { M2MError } from '../../lib/errors';
import { checkDeviceId } from '../../lib/ids';
import { makeRandom } from '../../lib/simulator/random';
import { SparkplugEdgeSimulator } from '../../lib/simulator/sparkplug-edge';
import { onInput } from '../shared/adapter';
import type { Node, NodeMessage } from '../shared/node-red';
import { ThrottledStatus } from '../shared/throttled-status';
import type { SimulatorConfig } from '../m2m-simulator/config';

// m2m-simulator with format `sparkplug`: one simulated Sparkplug B edge node whose devices are the simulator's
// devices. Its *Topic* names the edge node: `spBv1.0/<group>/<edge node>` (anything else: group M2M, node
// `<id prefix>edge`). Output: the Sparkplug messages for an `mqtt out`; input: NCMD/DCMD from an `mqtt in` on
// spBv1.0/<group>/+/<edge node>/#, and msg.action offline/online (a death and a rebirth) or tick.

const TOPIC = /^spBv1\.0\/([^/+#]+)\/([^/+#]+)$/;

export function runSimulatedEdge(node: Node, def: SimulatorConfig): void {
  const named = TOPIC.exec(def.topic);
  const group = named?.[1] ?? 'M2M';
  const edgeNode = named?.[2] ?? `${def.idPrefix}edge`;
  const seed = def.seed === '' ? undefined : def.seed;
  const devices = Array.from({ length: def.devices }, (_, i) => `${def.idPrefix}${String(i + 1).padStart(3, '0')}`);
  const status = new ThrottledStatus(node, () => {
    const c = edge.counts();
    return { fill: c.online > 0 ? 'green' : 'grey', shape: 'dot', text: `${group}/${edgeNode}: ${c.online}/${c.devices} online · ${c.messages} msgs` };
  });
  const edge = new SparkplugEdgeSimulator({
    group,
    node: edgeNode,
    devices,
    metrics: def.metrics,
    intervalMs: def.interval * 1000,
    random: makeRandom(/^\d+$/.test(seed ?? '') ? Number(seed) : seed),
    publish: (m) => {
      node.send({ topic: m.topic, payload: m.payload, deviceId: m.deviceId, qos: m.qos } as NodeMessage);
      status.schedule();
    },
  });
  edge.start();
  status.show();

  onInput(node, (msg) => {
    const action = msg.action;
    if (action === 'offline' || action === 'online') {
      const device = msg.deviceId === undefined || msg.deviceId === '' ? undefined : checkDeviceId(msg.deviceId, 'msg.deviceId');
      edge.setOnline(device, action === 'online');
    } else if (action === 'tick') {
      edge.tick();
    } else if (action !== undefined) {
      throw new M2MError('INVALID_FIELD', 'msg.action must be "offline", "online" or "tick" for a Sparkplug edge node', { field: 'action' });
    } else if (!edge.command(msg.topic, msg.payload)) {
      throw new M2MError('INVALID_FIELD', `${String(msg.topic).slice(0, 80)} is not an NCMD or DCMD for ${group}/${edgeNode}`, { field: 'topic' });
    }
    status.schedule();
  });

  node.on('close', (_removed, done) => {
    edge.close();
    status.stop();
    done();
  });
}
