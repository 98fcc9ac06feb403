import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { helper } from '../helpers/node-red';
import { startBroker, type TestBroker } from '../helpers/services';
import { EventLog, MODULES, deviceIds, loopFlow, uniquePrefix } from './flow';

// 1,000 commands to 100 simulated devices through a real broker and the core mqtt nodes; every one must end
// `succeeded`, exactly once. At most WINDOW are in flight, below Mosquitto's default queue of 1,000 QoS 1
// messages per client, beyond which it drops messages silently.
const COMMANDS = 1000;
const DEVICES = 100;
const WINDOW = 200;

async function warmUp(log: EventLog, send: (msg: NodeMessage) => void): Promise<void> {
  // The first command retries until both mqtt in subscriptions are in place: that is when the loop is closed.
  send({ deviceId: 'dev-001', command: 'ping', payload: {}, timeout: 300, retries: 30, commandId: 'warm-up' });
  await log.until(() => log.byId.get('warm-up')?.some((e) => e.status === 'succeeded') === true, 'the warm-up command');
}

async function runLoop(protocolVersion: '4' | '5'): Promise<void> {
  const broker: TestBroker = await startBroker();
  try {
    const prefix = uniquePrefix(`loop${protocolVersion}`);
    await helper.load(MODULES, loopFlow({ port: broker.port, protocolVersion, prefix, devices: DEVICES }));
    const log = new EventLog(helper.getNode('events'));
    const caught: NodeMessage[] = [];
    helper.getNode('caught').on('input', (msg) => caught.push(msg));
    const cmd = helper.getNode('cmd');
    await warmUp(log, (msg) => cmd.receive(msg));

    const ids = deviceIds(DEVICES);
    let next = 0;
    const sendNext = (): void => {
      const i = next++;
      cmd.receive({ deviceId: ids[i % DEVICES], command: 'setLevel', payload: { level: i }, commandId: `c-${i}` });
    };
    while (next < WINDOW) sendNext();
    await log.until(
      () => {
        const ended = log.ended().length - 1; // minus the warm-up
        while (next < COMMANDS && next - ended < WINDOW) sendNext();
        return ended >= COMMANDS;
      },
      `${COMMANDS} commands to end`,
      60_000,
    );

    const events = log.all.filter((e) => e.id !== 'warm-up');
    const succeeded = events.filter((e) => e.status === 'succeeded');
    assert.strictEqual(
      succeeded.length,
      COMMANDS,
      `all succeeded; others: ${JSON.stringify(events.filter((e) => e.status !== 'succeeded' && e.status !== 'sent').slice(0, 3))}`,
    );
    assert.strictEqual(new Set(succeeded.map((e) => e.id)).size, COMMANDS, 'each command succeeded exactly once');
    assert.strictEqual(events.filter((e) => e.status === 'sent').length, COMMANDS, 'each sent once');
    for (const e of succeeded) {
      assert.strictEqual(e.attempts, 1);
      assert.deepStrictEqual(e.response, { device: e.deviceId, command: 'setLevel', done: true });
    }
    // 100 devices, 10 commands each, every reply matched to the device that was asked
    const perDevice = new Map<string, number>();
    succeeded.forEach((e) => perDevice.set(e.deviceId, (perDevice.get(e.deviceId) ?? 0) + 1));
    assert.strictEqual(perDevice.size, DEVICES);
    assert.ok([...perDevice.values()].every((n) => n === COMMANDS / DEVICES));
    assert.deepStrictEqual(caught, [], 'no errors');
  } finally {
    await helper.unload();
    await broker.close();
  }
}

describe('m2m-command with m2m-simulator over a real broker (core mqtt in/out)', function () {
  this.timeout(120_000);

  it('MQTT 5: 1,000 commands to 100 devices, matched by correlation data, each succeeded exactly once', () => runLoop('5'));
  it('MQTT 3.1.1: 1,000 commands to 100 devices, matched by the id in the reply payload, each succeeded exactly once', () => runLoop('4'));
});
