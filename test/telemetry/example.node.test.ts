import assert from 'assert';
import fs from 'fs';
import path from 'path';
import { catchNode, helper, type FlowNode, type NodeModule } from '../helpers/node-red';
import type { NodeMessage } from '../../nodes/shared/node-red';
import telemetryNode from '../../nodes/m2m-telemetry/m2m-telemetry';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const injectNode = require('@node-red/nodes/core/common/20-inject.js') as NodeModule;

// The example flow as shipped, with its debug nodes swapped for test helpers.
const EXAMPLE = JSON.parse(fs.readFileSync(path.join(__dirname, '../../examples/telemetry-formats.json'), 'utf8')) as FlowNode[];

describe('examples/telemetry-formats.json', () => {
  afterEach(() => helper.unload());

  it('every inject decodes as its label says: telemetry, a rebirth request, or a caught error', async () => {
    const flow = EXAMPLE.map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n));
    await helper.load([telemetryNode as NodeModule, injectNode, catchNode], flow);
    const got = new Map<string, NodeMessage[]>();
    for (const node of flow.filter((n) => n.type === 'helper')) {
      got.set(node.id, []);
      helper.getNode(node.id).on('input', (msg) => got.get(node.id)?.push(msg));
    }
    const injects = EXAMPLE.filter((n) => n.type === 'inject');
    for (const inject of injects) helper.getNode(inject.id).receive({});
    const count = (id: string): number => got.get(id)?.length ?? 0;
    await new Promise<void>((resolve, reject) => {
      const started = Date.now();
      const poll = (): void => {
        const settled = count('dbg-errors') === 1 && count('dbg2-sparkplug') === 1 && count('dbg-senml') === 12 && count('dbg-sparkplug') === 3;
        if (settled) resolve();
        else if (Date.now() - started > 5000) reject(new Error(`example did not settle: ${JSON.stringify([...got].map(([k, v]) => [k, v.length]))}`));
        else setImmediate(poll);
      };
      poll();
    });
    assert.deepStrictEqual(
      ['json', 'lpp', 'binary', 'kv', 'ttn', 'chirpstack'].map((f) => count(`dbg-${f}`)),
      [1, 2, 1, 3, 1, 1],
      'telemetry messages per format (kv: one pair line and two CSV rows)',
    );
    assert.strictEqual((got.get('dbg-errors')?.[0].error as { code: string }).code, 'FRAME_TOO_SHORT');
    assert.strictEqual(count('dbg2-binary'), 1, 'the short frame is also on the rejected output');
    assert.deepStrictEqual(got.get('dbg-lpp')?.[0].payload, { temperature_3: 27.2, temperature_5: 25.5 });
    assert.deepStrictEqual(got.get('dbg-chirpstack')?.[0].payload, { level: 170 });
    assert.strictEqual(got.get('dbg2-sparkplug')?.[0].topic, 'spBv1.0/plant/NCMD/edge-1');
  });
});
