// Two real Node-RED runtimes (child processes, the pack installed in each user directory) sharing one registry
// on a private Redis. Both start before Redis does; writes go in over an `http in` → m2m-device flow as a user
// would wire them; Redis is killed with SIGKILL mid-run (no persistence: it comes back empty) and restarted.
// Read back through each runtime's admin API, both hold what Redis holds, nothing acknowledged is lost and no
// stale write overwrote a newer one.
import assert from 'assert';
import { openRegistry } from '../../lib/registry';
import { startNodeRed, type RunningNodeRed } from '../browser/support/node-red-process';
import { PrivateRedis, redisServerInstalled } from './redis-server';

const REGISTRY = 'fleet.registry';

interface FlowNode {
  id: string;
  type: string;
  [key: string]: unknown;
}

/** POST /write {op, id, attributes} → m2m-device (the operation from the message) → 200, or 503 with the code. */
function writerFlow(redisUrl: string): FlowNode[] {
  return [
    { id: 'fleet.tab', type: 'tab', label: 'fleet' },
    {
      id: REGISTRY,
      type: 'm2m-registry',
      version: 1,
      name: 'fleet',
      storeType: 'redis',
      offlineTimeout: '300',
      deviceTypes: '[]',
      credentials: { redisUrl },
    },
    { id: 'w.in', type: 'http in', z: 'fleet.tab', url: '/write', method: 'post', upload: false, wires: [['w.map']] },
    {
      id: 'w.map',
      type: 'function',
      z: 'fleet.tab',
      func: 'msg.operation = msg.payload.op;\nmsg.deviceId = msg.payload.id;\nmsg.payload = { attributes: msg.payload.attributes };\nreturn msg;',
      outputs: 1,
      wires: [['w.device']],
    },
    {
      id: 'w.device',
      type: 'm2m-device',
      z: 'fleet.tab',
      version: 1,
      registry: REGISTRY,
      operation: '',
      upsert: true,
      issueToken: false,
      autoRegister: false,
      autoType: '',
      pageSize: 100,
      events: '',
      resultTo: 'payload',
      wires: [['w.ok'], []],
    },
    { id: 'w.ok', type: 'http response', z: 'fleet.tab', statusCode: '200', wires: [] },
    { id: 'w.catch', type: 'catch', z: 'fleet.tab', scope: ['w.device'], uncaught: false, wires: [['w.fail']] },
    {
      id: 'w.fail',
      type: 'function',
      z: 'fleet.tab',
      func: 'msg.statusCode = 503;\nmsg.payload = { code: msg.error.code, message: msg.error.message };\nreturn msg;',
      outputs: 1,
      wires: [['w.failed']],
    },
    { id: 'w.failed', type: 'http response', z: 'fleet.tab', statusCode: '', wires: [] },
  ];
}

interface Device {
  id: string;
  attributes: Record<string, unknown>;
}

/** A JSON request to a runtime (admin API or an `http in` endpoint): the status and the parsed body. */
async function request(runtime: RunningNodeRed, method: string, route: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${runtime.url}${route}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: text };
  }
}

/** Polls `check` until it holds, failing with what `problem` says after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, problem: () => string, timeoutMs: number, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(problem());
    await pause(everyMs);
  }
}

/** One runtime and what its writes were answered. */
class Writer {
  /** device -> the highest value of this writer's attribute acknowledged (HTTP 200) / sent. */
  readonly acked: Record<string, number> = {};
  readonly attempted: Record<string, number> = {};
  readonly registered: string[] = [];
  readonly refusals: string[] = [];
  ackCount = 0;
  private running = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    readonly runtime: RunningNodeRed,
  ) {}

  write(op: 'register' | 'update', id: string, attributes: Record<string, unknown> = {}): Promise<{ status: number; body: unknown }> {
    return request(this.runtime, 'POST', '/write', { op, id, attributes });
  }

  /** Writes until it is answered 200 (the store may be away), failing after `timeoutMs`. */
  async writeWhenUp(op: 'register' | 'update', id: string, timeoutMs = 20_000): Promise<void> {
    let answer = { status: 0, body: undefined as unknown };
    await until(
      async () => (answer = await this.write(op, id)).status === 200,
      () => `${this.name}: ${op} ${id} still answered ${answer.status} ${JSON.stringify(answer.body)}`,
      timeoutMs,
      50,
    );
  }

  /** The devices this runtime's admin API lists, every page. */
  async devices(): Promise<Device[]> {
    const all: Device[] = [];
    for (let offset = 0; ;) {
      const { status, body } = await request(this.runtime, 'GET', `/m2m/registries/${REGISTRY}/devices?offset=${offset}&limit=100`);
      assert.strictEqual(status, 200, `${this.name} lists its devices`);
      const page = body as { total: number; items: Device[] };
      all.push(...page.items.map((d) => ({ id: d.id, attributes: { ...d.attributes } })));
      offset += page.items.length;
      if (offset >= page.total || page.items.length === 0) break;
    }
    return all.sort((x, y) => x.id.localeCompare(y.id));
  }

  sees(id: string, timeoutMs = 20_000): Promise<void> {
    return until(
      async () => (await request(this.runtime, 'GET', `/m2m/registries/${REGISTRY}/devices/${id}`)).status === 200,
      () => `${this.name} never saw ${id}`,
      timeoutMs,
    );
  }

  /** Writes in a loop: its own devices and the shared ones (its own attribute), and now and then a new device. */
  start(own: string[], shared: string[]): void {
    this.running = true;
    this.loop = (async () => {
      for (let n = 1; this.running; n++) {
        const targets = [...own, ...shared];
        const fresh = n % 7 === 0;
        const id = fresh ? `${this.name}-new-${n}` : (targets[n % targets.length] as string);
        this.attempted[id] = n;
        const answer = await this.write(fresh ? 'register' : 'update', id, { [this.name]: n });
        if (answer.status === 200) {
          this.acked[id] = n;
          if (fresh) this.registered.push(id);
          this.ackCount++;
        } else {
          const code = (answer.body as { code?: string }).code ?? String(answer.status);
          this.refusals.push(code);
          assert.ok(['STORE_UNAVAILABLE', 'VERSION_CONFLICT'].includes(code), `${this.name}: unexpected refusal ${JSON.stringify(answer.body)}`);
          if (code === 'STORE_UNAVAILABLE') await pause(50);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  ackedAtLeast(count: number, timeoutMs = 30_000): Promise<void> {
    return until(
      () => this.ackCount >= count,
      () => `${this.name}: ${this.ackCount} of ${count} writes acknowledged; refusals ${this.refusals.slice(-5).join(', ')}\n${this.runtime.log.join('\n')}`,
      timeoutMs,
    );
  }

  refusedAtLeastOnce(timeoutMs = 20_000): Promise<void> {
    return until(
      () => this.refusals.includes('STORE_UNAVAILABLE'),
      () => `${this.name} was never refused while Redis was down`,
      timeoutMs,
    );
  }
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('two Node-RED processes on one Redis that starts late, is killed mid-run and comes back empty', function () {
  this.timeout(180_000);
  let redis: PrivateRedis | undefined;
  const runtimes: RunningNodeRed[] = [];

  before(function () {
    if (!redisServerInstalled()) this.skip();
  });
  after(async () => {
    await Promise.all(runtimes.splice(0).map((r) => r.stop()));
    await redis?.stop();
  });

  it('both work once Redis is up, converge on the same devices, lose nothing acknowledged and never overwrite a newer record', async () => {
    redis = await PrivateRedis.create({ persistent: false, startLater: true });
    const [runtimeA, runtimeB] = await Promise.all([startNodeRed(), startNodeRed()]);
    runtimes.push(runtimeA, runtimeB);
    for (const runtime of runtimes) {
      const deployed = await request(runtime, 'POST', '/flows', writerFlow(redis.url()));
      assert.strictEqual(deployed.status, 204, JSON.stringify(deployed.body));
    }
    const a = new Writer('a', runtimeA);
    const b = new Writer('b', runtimeB);

    // Started before Redis: a write is refused at once with the code a Catch node can switch on.
    const early = await a.write('register', 'early');
    assert.deepStrictEqual([early.status, (early.body as { code?: string }).code], [503, 'STORE_UNAVAILABLE']);
    await redis.start();
    const shared = ['s-0', 's-1', 's-2'];
    const own = { a: ['a-0', 'a-1'], b: ['b-0', 'b-1'] };
    for (const id of [...shared, ...own.a]) await a.writeWhenUp('register', id);
    for (const id of own.b) await b.writeWhenUp('register', id);
    for (const id of [...shared, ...own.a]) await b.sees(id);
    for (const id of own.b) await a.sees(id);

    a.start(own.a, shared);
    b.start(own.b, shared);
    await Promise.all([a.ackedAtLeast(20), b.ackedAtLeast(20)]);
    await redis.kill();
    await Promise.all([a.refusedAtLeastOnce(), b.refusedAtLeastOnce()]);
    await redis.start();
    const [ackedA, ackedB] = [a.ackCount, b.ackCount];
    await Promise.all([a.ackedAtLeast(ackedA + 20), b.ackedAtLeast(ackedB + 20)]);
    await Promise.all([a.stop(), b.stop()]);

    // Barriers: once each has seen the other's last registration, it has seen everything before it.
    await a.writeWhenUp('register', 'barrier-a');
    await b.sees('barrier-a');
    await b.writeWhenUp('register', 'barrier-b');
    await a.sees('barrier-b');

    const fresh = await openRegistry({ name: 'fleet', store: { kind: 'redis', url: redis.url() } });
    const stored: Device[] = fresh
      .snapshot()
      .devices.map((d) => ({ id: d.id, attributes: { ...d.attributes } }))
      .sort((x, y) => x.id.localeCompare(y.id));
    await fresh.close();
    assert.deepStrictEqual(await a.devices(), stored, 'runtime a holds what Redis holds');
    assert.deepStrictEqual(await b.devices(), stored, 'runtime b holds what Redis holds');

    for (const runtime of [runtimeA, runtimeB])
      assert.match(runtime.log.join('\n'), /Redis lost the registry's data .*: restoring \d+ devices/, 'each runtime noticed and restored');

    const byId = new Map(stored.map((d) => [d.id, d]));
    for (const writer of [a, b]) {
      assert.ok(writer.registered.length > 0, `${writer.name} registered devices during the run`);
      for (const [id, value] of Object.entries(writer.acked)) {
        const kept = byId.get(id)?.attributes[writer.name];
        assert.ok(typeof kept === 'number', `${id} (acknowledged to ${writer.name}) is stored`);
        // Never below what was acknowledged (no loss, no stale overwrite); above only by a write whose answer was lost.
        assert.ok(kept >= value && kept <= (writer.attempted[id] ?? value), `${id}.${writer.name}: stored ${kept}, acknowledged ${value}`);
      }
    }
  });
});
