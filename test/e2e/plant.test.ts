// End to end: examples/plant-monitoring.json as shipped runs for 30 s on the real Mosquitto (aedes when it is not
// reachable) with the simulator's temperature spikes, and examples/plant-history-mysql.json writes into the real
// MariaDB. What a user would watch: alarms raised and cleared once per overheat, digests at the webhook, fans
// switched on, rows in the database.
import assert from 'assert';
import http from 'http';
import type { AddressInfo } from 'net';
import type { StatusEvent } from '../../lib/command';
import type { AlarmEvent } from '../../lib/rules';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { helper, type FlowNode } from '../helpers/node-red';
import { serviceAvailable, startBroker, type TestBroker } from '../helpers/services';
import { HISTORY_NODES, historyFlow, mysqlModule, plantFlow, pluginModules, runTag } from './plant-flows';
import { expectedOverheat, type Sample, type Transition } from './plant-oracle';

const RUN_MS = 30_000;
const DRAIN_MS = 10_000;

interface Digest {
  at: number;
  body: unknown;
}

interface Observed {
  /** Telemetry as it entered m2m-rule, in order, with the message id its alarm events carry. */
  samples: Sample[];
  alarms: Array<{ msgid: string; event: AlarmEvent }>;
  commands: StatusEvent[];
  errors: NodeMessage[];
  historyTelemetry: number;
  historyAlarms: number;
}

function startWebhook(): Promise<{ url: string; digests: Digest[]; close(): Promise<void> }> {
  const digests: Digest[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      digests.push({ at: Date.now(), body: JSON.parse(body) as unknown });
      res.end('ok');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/alarms`, digests, close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Db {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
  end(): Promise<void>;
}

const dbConfig = {
  host: '127.0.0.1',
  port: 3306,
  user: process.env.M2M_MYSQL_USER ?? 'root',
  password: process.env.M2M_MYSQL_PASSWORD ?? '',
  database: 'test',
};

async function countRows(db: Db, table: 'm2m_telemetry' | 'm2m_alarm_events', idPrefix: string): Promise<number> {
  const [rows] = await db.query(`SELECT COUNT(*) AS n FROM ${table} WHERE device_id LIKE ?`, [`${idPrefix}%`]);
  return Number((rows as Array<{ n: number | string }>)[0].n);
}

describe('plant demo, end to end (examples/plant-monitoring.json and plant-history-mysql.json)', function () {
  this.timeout(RUN_MS + DRAIN_MS + 30_000);
  const tag = runTag();
  const historyPrefix = `hist${tag}-`;
  let broker: TestBroker;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;
  let withMysql = false;
  let db: Db | undefined;
  let cutoff = 0;
  let frozenAt = 0;
  const seen: Observed = { samples: [], alarms: [], commands: [], errors: [], historyTelemetry: 0, historyAlarms: 0 };
  const previousWebhook = process.env.M2M_WEBHOOK_URL;

  before(async function () {
    broker = await startBroker();
    webhook = await startWebhook();
    process.env.M2M_WEBHOOK_URL = webhook.url;
    const mysql = mysqlModule();
    withMysql = mysql !== undefined && (await serviceAvailable('MariaDB', 3306));
    if (withMysql) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      db = await (require('mysql2/promise') as { createConnection(c: typeof dbConfig): Promise<Db> }).createConnection(dbConfig);
    }

    const flow: FlowNode[] = plantFlow(broker, `plant-${tag}`, '7');
    const credentials: Record<string, unknown> = {};
    if (withMysql) {
      flow.push(...historyFlow(historyPrefix, '13'));
      credentials['history.db'] = { user: dbConfig.user, password: dbConfig.password };
    }
    await helper.startServer();
    await helper.load(withMysql && mysql ? [...pluginModules(), mysql] : pluginModules(), flow, credentials);

    const recording = (): boolean => cutoff === 0;
    helper.getNode('plant.rules').on('input', (msg) => {
      const temperature = (msg.payload as { temperature?: unknown }).temperature;
      if (recording() && typeof temperature === 'number') seen.samples.push({ deviceId: String(msg.deviceId), temperature, msgid: String(msg._msgid) });
    });
    const observing = (): boolean => frozenAt === 0;
    helper.getNode('plant.debug.alarms').on('input', (msg) => {
      if (observing()) seen.alarms.push({ msgid: String(msg._msgid), event: msg.payload as AlarmEvent });
    });
    helper.getNode('plant.debug.commands').on('input', (msg) => {
      if (observing()) seen.commands.push(msg.payload as StatusEvent);
    });
    helper.getNode('plant.debug.errors').on('input', (msg) => seen.errors.push(msg));
    if (withMysql) {
      helper.getNode('history.row.telemetry').on('input', () => seen.historyTelemetry++);
      helper.getNode('history.row.alarm').on('input', () => seen.historyAlarms++);
      for (const id of HISTORY_NODES) helper.getNode(id).on('call:error', (call) => seen.errors.push({ error: call.args[0] }));
    }

    await wait(RUN_MS);
    cutoff = Date.now();
    // the history machines stop so that the rows can be counted; the plant keeps running so its fans still answer
    if (withMysql) helper.getNode('history.sim').receive({ action: 'offline' });
    const sentBeforeCutoff = new Set(seen.commands.filter((e) => e.status === 'sent').map((e) => e.id));
    await until(
      'the fan commands sent before the cut-off to end',
      () => [...sentBeforeCutoff].every((id) => seen.commands.some((e) => e.id === id && e.status !== 'sent')),
      DRAIN_MS,
    );
    await wait(300); // alarm events of the last samples are on their way to the debug node
    frozenAt = Date.now();
  });

  after(async () => {
    await helper.unload();
    await helper.stopServer();
    await webhook?.close();
    await broker?.close();
    if (db) {
      await db.query('DELETE FROM m2m_telemetry WHERE device_id LIKE ?', [`${historyPrefix}%`]);
      await db.query('DELETE FROM m2m_alarm_events WHERE device_id LIKE ?', [`${historyPrefix}%`]);
      await db.end();
    }
    if (previousWebhook === undefined) delete process.env.M2M_WEBHOOK_URL;
    else process.env.M2M_WEBHOOK_URL = previousWebhook;
  });

  it('runs without errors, 20 machines reporting every second', () => {
    assert.deepStrictEqual(
      seen.errors.map((m) => m.error),
      [],
    );
    const machines = new Set(seen.samples.map((s) => s.deviceId));
    assert.strictEqual(machines.size, 20, `machines seen: ${[...machines].join(', ')}`);
    assert.ok(seen.samples.length >= 20 * (RUN_MS / 1000 - 5), `only ${seen.samples.length} readings in ${RUN_MS / 1000} s`);
  });

  it("raises one overheat alarm per run of 2+ readings above 80 °C and clears it at the run's end", () => {
    const index = new Set(seen.samples.map((s) => s.msgid));
    const observed = new Map<string, Transition[]>();
    for (const { msgid, event } of seen.alarms) {
      if (event.rule !== 'overheat' || !index.has(msgid)) continue;
      const list = observed.get(event.deviceId) ?? [];
      list.push({ event: event.event as Transition['event'], value: event.value as number, msgid });
      observed.set(event.deviceId, list);
    }
    const expected = expectedOverheat(seen.samples);
    const episodes = [...expected.values()].flat().filter((t) => t.event === 'raised').length;
    // seed 7 spikes in rounds 7, 12, 15 (twice), 16 and 18
    assert.ok(episodes >= 5, `the seeded simulator should overheat some machines in ${RUN_MS / 1000} s, got ${episodes} episodes`);
    for (const [deviceId, transitions] of expected) {
      assert.deepStrictEqual(observed.get(deviceId) ?? [], transitions, `overheat alarms of ${deviceId}`);
    }
    assert.deepStrictEqual(
      [...observed.keys()].filter((id) => !expected.has(id)),
      [],
      'alarms for machines that never sent',
    );
  });

  it('sends the alarm events to the webhook as digests, at most one request per 5 s', () => {
    const digests = webhook.digests.filter((d) => d.at < frozenAt);
    assert.ok(digests.length >= 2, `${digests.length} digests in ${RUN_MS / 1000} s`);
    const known = new Set(seen.alarms.map(({ event }) => `${event.alarmId}/${event.event}/${event.ts}`));
    for (const { body } of digests) {
      assert.ok(Array.isArray(body) && body.length > 0 && body.length <= 50, `a digest is an array of 1..50 events: ${JSON.stringify(body)}`);
      for (const e of body as AlarmEvent[])
        assert.ok(known.has(`${e.alarmId}/${e.event}/${e.ts}`), `a digest holds an alarm event seen by the debug node: ${JSON.stringify(e)}`);
    }
    const delivered = digests.reduce((n, d) => n + (d.body as unknown[]).length, 0);
    assert.ok(digests.length < delivered, `${digests.length} requests carried ${delivered} events`);
    digests.slice(1).forEach((d, i) => {
      const gap = d.at - digests[i].at;
      assert.ok(gap >= 4500, `requests ${i} and ${i + 1} were only ${gap} ms apart`);
    });
  });

  it('switches the fan on for every overheat alarm, and every fan command succeeds exactly once', () => {
    const byId = new Map<string, StatusEvent[]>();
    for (const e of seen.commands) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
    const commands = [...byId.values()];
    for (const events of commands) {
      assert.strictEqual(events[0].command, 'fan');
      const statuses = events.map((e) => e.status);
      // a command sent in the last moments of the run may still wait for its reply
      const stillOpen = statuses.length === 1 && statuses[0] === 'sent' && events[0].ts > frozenAt - 1500;
      if (!stillOpen) assert.deepStrictEqual(statuses, ['sent', 'succeeded'], `${events[0].deviceId}: ${JSON.stringify(events)}`);
    }
    const recorded = new Set(seen.samples.map((s) => s.msgid));
    const raised = seen.alarms.filter(({ msgid, event }) => event.rule === 'overheat' && event.event === 'raised' && recorded.has(msgid));
    assert.ok(raised.length > 0, 'some overheat alarms');
    const unmatched = new Set(commands);
    for (const { event } of raised) {
      const command = commands.find((c) => unmatched.has(c) && c[0].deviceId === event.deviceId && c[0].ts >= event.ts && c[0].ts - event.ts < 1000);
      assert.ok(command, `a fan command for ${event.deviceId} after its overheat alarm at ${event.ts}`);
      assert.deepStrictEqual(
        command.map((e) => e.status),
        ['sent', 'succeeded'],
        `the fan command for the alarm of ${event.deviceId} at ${event.ts}`,
      );
      unmatched.delete(command);
    }
    const allRaised = seen.alarms.filter(({ event }) => event.rule === 'overheat' && event.event === 'raised').length;
    assert.strictEqual(commands.length, allRaised, 'no fan command without an overheat alarm');
  });

  it('stores every telemetry reading and alarm event of the history flow in MariaDB', async function () {
    if (!withMysql || !db) {
      console.log('      MariaDB on 127.0.0.1:3306 (or node-red-node-mysql) is not available: the history example is not checked');
      this.skip();
    }
    const database = db as Db;
    const stored = async (): Promise<boolean> =>
      (await countRows(database, 'm2m_telemetry', historyPrefix)) >= seen.historyTelemetry &&
      (await countRows(database, 'm2m_alarm_events', historyPrefix)) >= seen.historyAlarms;
    await until('the rows of the run', stored, DRAIN_MS).catch(() => undefined); // the counts below say what is missing
    assert.ok(seen.historyTelemetry >= 5 * (RUN_MS / 1000 - 5), `only ${seen.historyTelemetry} history readings`);
    // seed 13 spikes in rounds 3, 11, 18 and 24
    assert.ok(seen.historyAlarms >= 6, `the seeded history machines should overheat, got ${seen.historyAlarms} alarm events`);
    assert.strictEqual(await countRows(database, 'm2m_telemetry', historyPrefix), seen.historyTelemetry);
    assert.strictEqual(await countRows(database, 'm2m_alarm_events', historyPrefix), seen.historyAlarms);
    const [rows] = await database.query('SELECT rule, event, value, threshold, active FROM m2m_alarm_events WHERE device_id LIKE ? ORDER BY id LIMIT 1', [
      `${historyPrefix}%`,
    ]);
    const first = (rows as Array<{ rule: string; event: string; value: number; threshold: number; active: number }>)[0];
    assert.deepStrictEqual({ ...first }, { rule: 'overheat', event: 'raised', value: 82.5, threshold: 80, active: 1 });
  });
});
