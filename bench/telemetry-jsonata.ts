// node -r tsx/cjs bench/telemetry-jsonata.ts — m2m-telemetry in a running flow with its field mapping as JSONata
// (compiled once, evaluated once per message by Node-RED's JSONata) against the same mapping as paths (the default
// reader), measured in the same run, alternating which goes first.
import { catchNode, helper, type FlowNode, type NodeModule } from '../test/helpers/node-red';
import telemetryNode from '../nodes/m2m-telemetry/m2m-telemetry';
import { fmt, gc, median, report } from './harness';

const MSGS = 20_000;
const ROUNDS = 3;
const PAYLOAD = JSON.stringify({ ts: 1_700_000_000_000, sensors: { temp: 21.5, hum: 40 }, battery: { mv: 3600 } });

function flow(type: 'path' | 'jsonata'): FlowNode[] {
  const rows =
    type === 'path'
      ? [
          { metric: 'temp', path: 'sensors.temp', type },
          { metric: 'hum', path: 'sensors.hum', type },
          { metric: 'mv', path: 'battery.mv', type },
        ]
      : [
          { metric: 'temp', path: 'payload.sensors.temp', type },
          { metric: 'hum', path: 'payload.sensors.hum', type },
          { metric: 'mv', path: 'payload.battery.mv', type },
        ];
  return [
    {
      id: 'entry',
      type: 'm2m-telemetry',
      z: 'f1',
      version: 2,
      format: 'json',
      deviceIdFrom: 'fixed',
      fixedDeviceId: 'b1',
      timestampPath: 'ts',
      mapping: rows,
      wires: [['sink'], []],
    },
    { id: 'sink', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
    { id: 'f1', type: 'tab' },
  ];
}

async function rate(type: 'path' | 'jsonata'): Promise<number> {
  await helper.load([telemetryNode as NodeModule, catchNode], flow(type));
  helper.removeRecordingSpies(['entry']);
  const entry = helper.getNode('entry');
  let received = 0;
  let errors = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  helper.getNode('sink').on('input', () => ++received + errors === MSGS && finish());
  helper.getNode('caught').on('input', () => received + ++errors === MSGS && finish());
  gc();
  const start = process.hrtime.bigint();
  for (let i = 0; i < MSGS; i += 500) {
    for (let k = i; k < Math.min(MSGS, i + 500); k++) entry.receive({ payload: PAYLOAD });
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  const perSecond = MSGS / (Number(process.hrtime.bigint() - start) / 1e9);
  await helper.unload();
  if (errors > 0) throw new Error(`${errors} messages failed`);
  return perSecond;
}

async function main(): Promise<void> {
  const paths: number[] = [];
  const jsonata: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      paths.push(await rate('path'));
      jsonata.push(await rate('jsonata'));
    } else {
      jsonata.push(await rate('jsonata'));
      paths.push(await rate('path'));
    }
  }
  console.log(`== m2m-telemetry, a 3-row field mapping, ${fmt(MSGS)} messages, median of ${ROUNDS} (msgs/s) ==`);
  report({ name: 'mapping as JSONata (msgs/s)', value: median(jsonata), unit: '/s', baseline: median(paths), baselineName: 'the same mapping as paths' });
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
