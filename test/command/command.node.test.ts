import assert from 'assert';
import type { NodeMessage } from '../../nodes/shared/node-red';
import { MemoryCommandStore, type StatusEvent, type TransportMessage } from '../../lib/command';
import { MemoryStore } from '../../lib/registry/stores/memory';
import { collect, helper, waitFor, type FlowNode, type TestNode } from '../helpers/node-red';
import { MODULES } from './flow';

const TYPES = JSON.stringify([
  {
    name: 'valve',
    offlineTimeoutMs: 60000,
    commands: { open: { paramsSchema: { type: 'object', properties: { percent: { type: 'number', maximum: 100 } }, required: ['percent'] } }, close: {} },
  },
]);

function flow(command: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 60, deviceTypes: TYPES },
    { id: 'cmd', type: 'm2m-command', z: 'f1', timeout: 10, ...command, wires: [['transport'], ['events']] },
    { id: 'transport', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
    { id: 'catcher', type: 'catch', z: 'f1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'f1' },
  ];
}

interface Wired {
  cmd: TestNode;
  transport: NodeMessage[];
  events: StatusEvent[];
  caught: NodeMessage[];
}

async function load(command: Record<string, unknown> = {}): Promise<Wired> {
  await helper.load(MODULES, flow(command));
  const events: StatusEvent[] = [];
  helper.getNode('events').on('input', (msg) => events.push(msg.payload as StatusEvent));
  return { cmd: helper.getNode('cmd'), transport: collect(helper.getNode('transport')), events, caught: collect(helper.getNode('caught')) };
}

type Registry = { register(d: { id: string; type: string }): Promise<unknown>; touch(id: string): Promise<unknown> };
const registryOf = (): Registry => (helper.getNode('reg') as unknown as { registry: Registry }).registry;

describe('m2m-command node', () => {
  afterEach(async () => {
    await helper.unload();
    // what a stopped (not removed) node keeps in memory would otherwise carry into the next test
    MemoryCommandStore.forget('cmd');
    MemoryStore.forget('reg');
  });

  it('sends a command for the transport and reports sent, then succeeded when the reply comes back in', async () => {
    const w = await load();
    w.cmd.receive({ deviceId: 'pump-1', command: 'start', payload: { rpm: 900 }, keep: 'x' });
    await waitFor(() => w.transport.length === 1, 'the transport message');
    const out = w.transport[0] as unknown as TransportMessage;
    assert.strictEqual(out.topic, 'devices/pump-1/commands/start');
    assert.strictEqual(out.responseTopic, 'devices/pump-1/replies');
    assert.strictEqual(out.qos, 1);
    w.cmd.receive({ topic: 'devices/pump-1/replies', payload: Buffer.from(JSON.stringify({ id: out.payload.id, status: 'ok', result: { rpm: 900 } })) });
    await waitFor(() => w.events.length === 2, 'two status events');
    assert.deepStrictEqual(
      w.events.map((e) => e.status),
      ['sent', 'succeeded'],
    );
    assert.deepStrictEqual(w.events[1].response, { rpm: 900 });
    assert.deepStrictEqual(w.caught, []);
  });

  it('status events carry the properties of the message that submitted the command, so an http response can answer', async () => {
    const w = await load();
    const eventMsgs = collect(helper.getNode('events'));
    w.cmd.receive({ deviceId: 'pump-2', command: 'stop', payload: {}, requestId: 'r-17' });
    await waitFor(() => w.transport.length === 1, 'the transport message');
    assert.strictEqual(w.transport[0].requestId, undefined, 'the transport message is built fresh');
    const id = (w.transport[0] as unknown as TransportMessage).payload.id;
    w.cmd.receive({ topic: 'devices/pump-2/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    await waitFor(() => eventMsgs.length === 2, 'two status events');
    assert.deepStrictEqual(
      eventMsgs.map((m) => [m.status, m.requestId]),
      [
        ['sent', 'r-17'],
        ['succeeded', 'r-17'],
      ],
    );
  });

  it('bad input: each is a clear error for a Catch node, a rejected event where a command existed, and nothing else is disturbed', async () => {
    const w = await load({ registry: 'reg' });
    await registryOf().register({ id: 'v1', type: 'valve' });
    await registryOf().touch('v1');
    w.cmd.receive({ deviceId: 'v1', command: 'close' });
    await waitFor(() => w.transport.length === 1, 'the good command');
    const good = (w.transport[0] as unknown as TransportMessage).payload.id;

    w.cmd.receive({ command: 'close' });
    w.cmd.receive({ deviceId: 'v1/+', command: 'close' });
    w.cmd.receive({ deviceId: 'v1', command: 'explode' });
    w.cmd.receive({ deviceId: 'v1', command: 'open', payload: { percent: 'lots' } });
    w.cmd.receive({ topic: 'devices/v1/replies', payload: 'OK' });
    await waitFor(() => w.caught.length === 5, 'five errors');
    const codes = w.caught.map((m) => (m.error as { code: string }).code);
    assert.deepStrictEqual(codes, ['INVALID_DEVICE_ID', 'INVALID_DEVICE_ID', 'UNKNOWN_COMMAND', 'SCHEMA_VALIDATION', 'BAD_REPLY']);
    assert.match((w.caught[3].error as { message: string }).message, /\/percent must be number/);
    assert.deepStrictEqual(
      w.events.map((e) => e.status),
      ['sent', 'rejected', 'rejected'],
    );

    w.cmd.receive({ topic: 'devices/v1/replies', payload: { id: good, status: 'ok' } });
    await waitFor(() => w.events.length === 4, 'the good command to end');
    assert.deepStrictEqual([w.events[3].id, w.events[3].status], [good, 'succeeded']);
    assert.strictEqual(w.transport.length, 1, 'nothing else was sent');
  });

  it('queues commands for an offline device and flushes them in order when the registry sees it online', async () => {
    const w = await load({ registry: 'reg' });
    await registryOf().register({ id: 'v2', type: 'valve' });
    for (const percent of [10, 20, 30]) w.cmd.receive({ deviceId: 'v2', command: 'open', payload: { percent } });
    await waitFor(() => w.events.length === 3, 'three queued events');
    assert.deepStrictEqual(
      w.events.map((e) => e.status),
      ['queued', 'queued', 'queued'],
    );
    assert.strictEqual(w.transport.length, 0);
    await registryOf().touch('v2');
    await waitFor(() => w.transport.length === 3, 'the flush');
    assert.deepStrictEqual(
      w.transport.map((m) => (m.payload as { params: { percent: number } }).params.percent),
      [10, 20, 30],
    );
  });

  it('late and unknown replies are counted on the badge, not raised', async () => {
    const w = await load();
    const statuses: string[] = [];
    w.cmd.on('call:status', (call) => statuses.push(String((call.args[0] as { text?: string }).text)));
    w.cmd.receive({ deviceId: 'd1', command: 'x', commandId: 'job-1' });
    w.cmd.receive({ topic: 'devices/d1/replies', payload: { id: 'job-1', status: 'ok' } });
    w.cmd.receive({ topic: 'devices/d1/replies', payload: { id: 'job-1', status: 'ok' } });
    w.cmd.receive({ topic: 'devices/d1/replies', payload: { id: 'nobody', status: 'ok' } });
    await waitFor(() => statuses.some((s) => s.includes('2 ignored')), 'the badge');
    assert.deepStrictEqual(
      w.events.map((e) => e.status),
      ['sent', 'succeeded'],
    );
    assert.deepStrictEqual(w.caught, []);
  });

  it('a reply with the right id from another device changes nothing and shows as foreign on the badge; the commanded device then succeeds it', async () => {
    const w = await load();
    const statuses: string[] = [];
    w.cmd.on('call:status', (call) => statuses.push(String((call.args[0] as { text?: string }).text)));
    w.cmd.receive({ deviceId: 'valve-1', command: 'open' });
    await waitFor(() => w.transport.length === 1, 'the command');
    const id = (w.transport[0] as unknown as TransportMessage).payload.id;
    w.cmd.receive({ topic: 'devices/valve-2/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    w.cmd.receive({ payload: { id, status: 'ok' }, deviceId: 'valve-3' });
    await waitFor(() => statuses.some((s) => s.includes('2 foreign')), 'the badge');
    assert.deepStrictEqual(
      w.events.map((e) => e.status),
      ['sent'],
      'still pending',
    );
    w.cmd.receive({ topic: 'devices/valve-1/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    await waitFor(() => w.events.length === 2, 'the reply of valve-1');
    assert.deepStrictEqual([w.events[1].deviceId, w.events[1].status], ['valve-1', 'succeeded']);
    assert.deepStrictEqual(w.caught, []);
  });

  it('a reply that names no device is refused: counted on the badge and explained once in the log', async () => {
    const w = await load({ replyTopic: 'site/replies', mqtt5: false });
    const statuses: string[] = [];
    const warnings: string[] = [];
    w.cmd.on('call:status', (call) => statuses.push(String((call.args[0] as { text?: string }).text)));
    w.cmd.on('call:warn', (call) => warnings.push(String(call.args[0])));
    w.cmd.receive({ deviceId: 'valve-1', command: 'open' });
    await waitFor(() => w.transport.length === 1, 'the command');
    const id = (w.transport[0] as unknown as TransportMessage).payload.id;
    w.cmd.receive({ topic: 'site/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    w.cmd.receive({ topic: 'site/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    await waitFor(() => statuses.some((s) => s.includes('2 without device')), 'the badge');
    assert.strictEqual(warnings.length, 1);
    assert.match(warnings[0], /nothing says which device sent it/);
    w.cmd.receive({ topic: 'site/replies', payload: JSON.stringify({ id, status: 'ok' }), deviceId: 'valve-1' });
    await waitFor(() => w.events.length === 2, 'the reply with msg.deviceId');
    assert.strictEqual(w.events[1].status, 'succeeded');
  });

  it('a redeploy resumes a pending command under its id: not sent again, and its reply still succeeds it', async () => {
    let w = await load();
    w.cmd.receive({ deviceId: 'd1', command: 'x' });
    await waitFor(() => w.transport.length === 1, 'the command');
    const id = (w.transport[0] as unknown as TransportMessage).payload.id;
    await helper.unload();

    w = await load();
    w.cmd.receive({ topic: 'devices/d1/replies', payload: { id, status: 'ok' } });
    await waitFor(() => w.events.length === 1, 'the status event');
    assert.deepStrictEqual([w.events[0].id, w.events[0].status], [id, 'succeeded']);
    assert.strictEqual(w.transport.length, 0, 'nothing sent as new');
  });
});
