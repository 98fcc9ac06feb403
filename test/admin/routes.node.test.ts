import assert from 'assert';
import { MemoryCommandStore, type StatusEvent, type TransportMessage } from '../../lib/command';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { DeviceRegistry } from '../../lib/registry';
import commandNode from '../../nodes/m2m-command/m2m-command';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { installAdminApi } from '../../nodes/shared/admin-routes';
import type { NodeAPI } from '../../nodes/shared/node-red';
import { commsMessages, helperAdminApp, routeCount, serveHelperAdmin, type AdminClient } from './harness';

const MODULES = [registryNode as NodeModule, commandNode as NodeModule];
const TYPES = JSON.stringify([{ name: 'pump' }, { name: 'valve' }]);

function flow(): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory', offlineTimeout: 60, deviceTypes: TYPES },
    { id: 'cmd', type: 'm2m-command', z: 'f1', registry: 'reg', timeout: 30, retries: 2, wires: [['transport'], ['events']] },
    { id: 'transport', type: 'helper', z: 'f1' },
    { id: 'events', type: 'helper', z: 'f1' },
  ];
}

interface Page {
  total: number;
  offset: number;
  items: Array<Record<string, unknown>>;
}

const registry = (): DeviceRegistry => (helper.getNode('reg') as unknown as { registry: DeviceRegistry }).registry;

/** 250 devices: pumps p000..p149 (tag "hall-a" on the even ones), valves v000..v099; the first 10 pumps online. */
async function fleet(): Promise<void> {
  const reg = registry();
  await reg.ready();
  for (let i = 0; i < 150; i++) {
    await reg.register({ id: `p${String(i).padStart(3, '0')}`, name: `Pump ${i}`, type: 'pump', tags: i % 2 === 0 ? ['hall-a'] : [] });
  }
  for (let i = 0; i < 100; i++) await reg.register({ id: `v${String(i).padStart(3, '0')}`, name: `Valve ${i}`, type: 'valve' });
  for (let i = 0; i < 10; i++) await reg.touch(`p${String(i).padStart(3, '0')}`);
}

describe('admin API: registries, devices and commands', () => {
  let api: AdminClient;

  beforeEach(async () => {
    await helper.load(MODULES, flow());
    api = await serveHelperAdmin();
  });

  afterEach(async () => {
    await api.close();
    await helper.unload();
    MemoryCommandStore.forget('cmd');
    MemoryStore.forget('reg');
  });

  it('registers each route once per admin server, however many node modules install it', () => {
    // the loaded registry and command modules installed it already; a third and fourth call, e.g. another module
    const red = { httpAdmin: helperAdminApp(), auth: { needsPermission: () => () => undefined } } as unknown as NodeAPI;
    installAdminApi(red);
    installAdminApi(red);
    assert.strictEqual(routeCount('get', '/m2m/registries'), 1);
    assert.strictEqual(routeCount('post', '/m2m/commands/:node/:commandId/cancel'), 1);
  });

  it('lists the deployed registries with their store and counts', async () => {
    await fleet();
    const res = await api.get('/m2m/registries');
    assert.strictEqual(res.status, 200);
    assert.deepStrictEqual(res.body, [{ id: 'reg', name: 'plant', store: 'memory', devices: 250, online: 10 }]);
  });

  it('pages devices server-side and filters by type, tag, online and a search text', async () => {
    await fleet();
    const first = (await api.get('/m2m/registries/reg/devices')).body as Page;
    assert.deepStrictEqual([first.total, first.offset, first.items.length], [250, 0, 100]);
    const last = (await api.get('/m2m/registries/reg/devices?offset=200&limit=100')).body as Page;
    assert.deepStrictEqual([last.total, last.items.length, last.items[0].id, last.items[49].id], [250, 50, 'v050', 'v099']);
    const ids = async (query: string): Promise<{ total: number; ids: unknown[] }> => {
      const page = (await api.get(`/m2m/registries/reg/devices?${query}`)).body as Page;
      return { total: page.total, ids: page.items.map((d) => d.id) };
    };
    assert.strictEqual((await ids('type=valve')).total, 100);
    assert.strictEqual((await ids('type=pump&tag=hall-a')).total, 75);
    assert.deepStrictEqual(await ids('online=true&limit=3'), { total: 10, ids: ['p000', 'p001', 'p002'] });
    assert.strictEqual((await ids('online=false')).total, 240);
    assert.deepStrictEqual(await ids('q=VALVE%2099'), { total: 1, ids: ['v099'] }, 'q is a case-insensitive substring of the name');
    assert.deepStrictEqual(await ids('q=p14'), { total: 10, ids: ['p140', 'p141', 'p142', 'p143', 'p144', 'p145', 'p146', 'p147', 'p148', 'p149'] });
    const device = (await api.get('/m2m/registries/reg/devices?q=p001')).body as Page;
    assert.deepStrictEqual(Object.keys(device.items[0]).sort(), ['attributes', 'createdAt', 'id', 'lastSeen', 'name', 'online', 'tags', 'type', 'updatedAt']);
    assert.strictEqual(device.items[0].online, true);
  });

  it('refuses bad query parameters with 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['offset=-1', 'offset'],
      ['offset=1.5', 'offset'],
      ['online=yes', 'online'],
      ['type=a&type=b', 'type'],
      ['tag[x]=1', 'tag'],
      [`q=${'x'.repeat(129)}`, 'q'],
    ];
    for (const [query, field] of cases) {
      const res = await api.get(`/m2m/registries/reg/devices?${query}`);
      assert.strictEqual(res.status, 400, query);
      const body = res.body as { code: string; message: string; field: string };
      assert.strictEqual(body.field, field, query);
      assert.strictEqual(body.code, 'INVALID_FIELD', query);
      assert.ok(body.message.includes(field), body.message);
    }
  });

  it('answers one device with its pending commands; an unknown registry or device is 404, a bad id 400', async () => {
    await fleet();
    const transport = collect(helper.getNode('transport'));
    helper.getNode('cmd').receive({ deviceId: 'p001', command: 'start', payload: { rpm: 900 } });
    await waitFor(() => transport.length === 1, 'the command sent');
    const res = await api.get('/m2m/registries/reg/devices/p001');
    assert.strictEqual(res.status, 200);
    const device = res.body as { id: string; online: boolean; alarms: unknown[]; commands: Array<Record<string, unknown>> };
    assert.deepStrictEqual([device.id, device.online, device.alarms], ['p001', true, []]);
    assert.deepStrictEqual(
      device.commands.map((c) => [c.node, c.command, c.state, c.params]),
      [['cmd', 'start', 'pending', { rpm: 900 }]],
    );
    assert.strictEqual((device.commands[0] as { token?: string }).token, undefined, 'the reply secret never leaves the node');

    const missing = await api.get('/m2m/registries/reg/devices/nope');
    assert.deepStrictEqual([missing.status, (missing.body as { code: string }).code], [404, 'DEVICE_NOT_FOUND']);
    const noRegistry = await api.get('/m2m/registries/other/devices');
    assert.deepStrictEqual([noRegistry.status, (noRegistry.body as { code: string }).code], [404, 'NODE_NOT_FOUND']);
    const badId = await api.get('/m2m/registries/reg/devices/bad%20id');
    assert.deepStrictEqual([badId.status, (badId.body as { field: string }).field], [400, 'deviceId']);
    const proto = await api.get('/m2m/registries/reg/devices/__proto__');
    assert.deepStrictEqual([proto.status, (proto.body as { field: string }).field], [400, 'deviceId']);
  });

  it('cancels a queued command: a canceled event on output 2, and it is not sent when the device comes online', async () => {
    await fleet();
    const transport = collect(helper.getNode('transport'));
    const events: StatusEvent[] = [];
    helper.getNode('events').on('input', (msg) => events.push(msg.payload as StatusEvent));
    helper.getNode('cmd').receive({ deviceId: 'v007', command: 'open', payload: {} });
    helper.getNode('cmd').receive({ deviceId: 'v007', command: 'close', payload: {} });
    await waitFor(() => events.length === 2, 'two queued events');
    const listed = (await api.get('/m2m/commands?deviceId=v007')).body as Page;
    assert.deepStrictEqual(
      listed.items.map((c) => [c.command, c.state]),
      [
        ['open', 'queued'],
        ['close', 'queued'],
      ],
    );

    const res = await api.post(`/m2m/commands/cmd/${String(listed.items[0].id)}/cancel`);
    assert.strictEqual(res.status, 200);
    assert.strictEqual((res.body as { event: StatusEvent }).event.status, 'canceled');
    await waitFor(() => events.length === 3, 'the canceled event');
    assert.deepStrictEqual([events[2].status, events[2].id, events[2].error], ['canceled', listed.items[0].id, 'canceled by editor']);

    await registry().touch('v007');
    await waitFor(() => transport.length === 1, 'the queue flushed');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepStrictEqual(
      transport.map((m) => (m as unknown as TransportMessage).command),
      ['close'],
      'only the command that was not canceled is sent',
    );
    const again = await api.post(`/m2m/commands/cmd/${String(listed.items[0].id)}/cancel`);
    assert.deepStrictEqual([again.status, (again.body as { code: string }).code], [404, 'COMMAND_NOT_FOUND']);
  });

  it('cancels a sent command before its retry: no retry goes out, and its reply counts as late', async () => {
    await fleet();
    const transport = collect(helper.getNode('transport'));
    const events: StatusEvent[] = [];
    helper.getNode('events').on('input', (msg) => events.push(msg.payload as StatusEvent));
    helper.getNode('cmd').receive({ deviceId: 'p003', command: 'stop', payload: {} });
    await waitFor(() => transport.length === 1, 'the command sent');
    const id = (transport[0] as unknown as TransportMessage).payload.id;
    const pending = (await api.get('/m2m/commands')).body as Page;
    assert.deepStrictEqual(
      pending.items.map((c) => [c.id, c.state, c.attempts]),
      [[id, 'pending', 1]],
    );
    assert.strictEqual((await api.post(`/m2m/commands/cmd/${id}/cancel`)).status, 200);
    assert.deepStrictEqual(
      events.map((e) => e.status),
      ['sent', 'canceled'],
    );
    assert.deepStrictEqual(((await api.get('/m2m/commands')).body as Page).total, 0);
    helper.getNode('cmd').receive({ topic: 'devices/p003/replies', payload: JSON.stringify({ id, status: 'ok' }) });
    helper.getNode('cmd').receive({ deviceId: 'p003', command: 'start', payload: {} });
    await waitFor(() => transport.length === 2, 'the next command, after the reply');
    assert.deepStrictEqual(
      events.map((e) => e.status),
      ['sent', 'canceled', 'sent'],
      'the reply changed nothing',
    );
  });

  it('answers 404 for an unknown node, 400 for a bad command id or a body that is not a JSON object', async () => {
    const unknownNode = await api.post('/m2m/commands/nobody/abc/cancel');
    assert.deepStrictEqual([unknownNode.status, (unknownNode.body as { code: string }).code], [404, 'NODE_NOT_FOUND']);
    const badId = await api.post('/m2m/commands/cmd/a+b/cancel');
    assert.deepStrictEqual([badId.status, (badId.body as { field: string }).field], [400, 'commandId']);
    const notJson = await api.postRaw('/m2m/commands/cmd/abc/cancel', '{"reason":', 'application/json');
    assert.deepStrictEqual([notJson.status, (notJson.body as { code: string; field: string }).field], [400, 'body']);
    const text = await api.postRaw('/m2m/commands/cmd/abc/cancel', 'please', 'text/plain');
    assert.deepStrictEqual([text.status, (text.body as { field: string }).field], [400, 'body']);
    const array = await api.post('/m2m/commands/cmd/abc/cancel', [1]);
    assert.deepStrictEqual([array.status, (array.body as { field: string }).field], [400, 'body']);
    const bad = await api.get('/m2m/commands?deviceId=a/b');
    assert.deepStrictEqual([bad.status, (bad.body as { field: string }).field], [400, 'deviceId']);
  });

  it('publishes coalesced live updates through RED.comms when devices change', async () => {
    const comms = commsMessages();
    const updates = (): number => comms.messages.filter((m) => m.topic === 'm2m/devices').length;
    try {
      const started = Date.now();
      await fleet();
      await waitFor(() => updates() >= 1, 'an update');
      const elapsed = Date.now() - started;
      // 260 device events; at most one update per 250 ms, plus the one that may go out at once
      assert.ok(updates() <= Math.ceil(elapsed / 250) + 2, `${updates()} updates in ${elapsed} ms`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = updates();
      await registry().register({ id: 'late', type: 'pump' });
      await waitFor(() => updates() === before + 1, 'the update of one more device');
    } finally {
      comms.stop();
    }
  });
});
