import assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { helper } from '../helpers/node-red';
import { freePort, reachable, REQUIRE_SERVICES } from '../helpers/services';
import { EventLog, MODULES, deviceIds, loopFlow, uniquePrefix } from './flow';

const MOSQUITTO = '/usr/sbin/mosquitto';
const COMMANDS = 300;

async function startMosquitto(port: number, dir: string): Promise<ChildProcess> {
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await reachable(port)); i++) await new Promise((r) => setTimeout(r, 50));
  if (!(await reachable(port))) throw new Error(`mosquitto did not start on ${port}`);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('m2m-command through a broker outage', function () {
  this.timeout(120_000);
  let dir: string;
  let broker: ChildProcess | undefined;

  before(function () {
    if (!fs.existsSync(MOSQUITTO)) {
      if (REQUIRE_SERVICES) throw new Error(`${MOSQUITTO} is required when CI=true`);
      this.skip();
    }
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-outage-'));
    helper.settings({ mqttReconnectTime: 200 });
  });
  afterEach(async () => {
    await helper.unload();
    if (broker) await stop(broker);
    helper.settings({});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('mosquitto stopped mid-run and started again: every command ends succeeded, timeout or expired, exactly once', async () => {
    const port = await freePort();
    broker = await startMosquitto(port, dir);
    const prefix = uniquePrefix('outage');
    await helper.load(MODULES, loopFlow({ port, protocolVersion: '5', prefix, devices: 20, command: { timeout: 1, retries: 6, backoff: 0.2 } }));
    const log = new EventLog(helper.getNode('events'));
    const cmd = helper.getNode('cmd');
    cmd.receive({ deviceId: 'dev-001', command: 'ping', commandId: 'warm-up', timeout: 300, retries: 30 });
    await log.until(() => log.byId.get('warm-up')?.some((e) => e.status === 'succeeded') === true, 'the warm-up command');

    const ids = deviceIds(20);
    for (let i = 0; i < COMMANDS; i++) {
      // every third command may live only 2 s: some of those expire while the broker is down
      cmd.receive({ deviceId: ids[i % 20], command: 'set', payload: { i }, commandId: `c-${i}`, ...(i % 3 === 0 ? { ttl: 2000 } : {}) });
      if (i === COMMANDS / 3) {
        if (broker) await stop(broker);
        broker = undefined;
      }
      if (i === (COMMANDS * 2) / 3) {
        await pause(2000); // the broker stays down ~3 s in all
        broker = await startMosquitto(port, dir);
      }
      if (i % 10 === 9) await pause(broker ? 20 : 100);
    }
    await log.until(() => log.ended().length - 1 >= COMMANDS, `${COMMANDS} commands to end`, 90_000);
    await pause(500); // a straggling reply would show up as a second final status

    const final = new Map<string, string[]>();
    for (const e of log.ended()) if (e.id !== 'warm-up') final.set(e.id, [...(final.get(e.id) ?? []), e.status]);
    assert.strictEqual(final.size, COMMANDS, 'every command ended: none lost');
    const counts: Record<string, number> = {};
    for (const [id, statuses] of final) {
      assert.strictEqual(statuses.length, 1, `${id} ended once, got ${statuses.join(', ')}`);
      assert.ok(['succeeded', 'timeout', 'expired'].includes(statuses[0]), `${id}: ${statuses[0]}`);
      counts[statuses[0]] = (counts[statuses[0]] ?? 0) + 1;
    }
    assert.ok((counts.succeeded ?? 0) > COMMANDS / 2, `most succeed after the broker is back: ${JSON.stringify(counts)}`);
    assert.ok((counts.succeeded ?? 0) < COMMANDS, `the outage shows: ${JSON.stringify(counts)}`);
  });
});
