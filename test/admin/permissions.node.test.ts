// The routes behind Node-RED's own admin authentication (adminAuth with users and permissions), served by
// Node-RED's editor API in this process while the test helper runs the flow.
import assert from 'assert';
import type { RequestListener } from 'http';
import { adminDirectory } from '../../lib/admin/directory';
import { MemoryCommandStore, type StatusEvent } from '../../lib/command';
import type { DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import commandNode from '../../nodes/m2m-command/m2m-command';
import registryNode from '../../nodes/m2m-registry/m2m-registry';
import ruleNode from '../../nodes/m2m-rule/m2m-rule';
import type { AlarmEvent } from '../../lib/rules';
import { registerAdminRoutes, type AdminAuth, type AdminHttp } from '../../nodes/shared/admin-routes';
import { helper, waitFor, type NodeModule } from '../helpers/node-red';
import { serve, type AdminClient } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require('bcryptjs') as { hashSync(text: string, rounds: number): string };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const editorApi = require('@node-red/editor-api') as {
  init(settings: object, server: unknown, storage: object, runtimeAPI: object): void;
  httpAdmin: AdminHttp & RequestListener;
  auth: AdminAuth;
};

const PASSWORD = 'correct horse';
const USERS = [
  { username: 'alice', password: bcrypt.hashSync(PASSWORD, 4), permissions: '*' },
  { username: 'bob', password: bcrypt.hashSync(PASSWORD, 4), permissions: 'read' },
  { username: 'carol', password: bcrypt.hashSync(PASSWORD, 4), permissions: ['flows.read'] },
];

describe('admin API permissions (Node-RED adminAuth)', () => {
  let api: AdminClient;
  const tokens: Record<string, string> = {};

  before(async () => {
    const sessions: { value: object } = { value: {} };
    const storage = { getSessions: () => Promise.resolve(sessions.value), saveSessions: (s: object) => Promise.resolve(void (sessions.value = s)) };
    editorApi.init({ adminAuth: { type: 'credentials', users: USERS }, disableEditor: true, httpAdminRoot: '/' }, null, storage, {});
    registerAdminRoutes(editorApi.httpAdmin, editorApi.auth, adminDirectory);
    api = await serve(editorApi.httpAdmin);
    for (const user of USERS) {
      const body = { client_id: 'node-red-admin', grant_type: 'password', scope: '', username: user.username, password: PASSWORD };
      const res = await api.post('/auth/token', body);
      assert.strictEqual(res.status, 200, JSON.stringify(res.body));
      tokens[user.username] = (res.body as { access_token: string }).access_token;
    }
  });

  after(async () => {
    await api.close();
    // leave Node-RED's auth module as the other tests expect it: no adminAuth
    editorApi.init({ disableEditor: true }, null, { getSessions: () => Promise.resolve({}), saveSessions: () => Promise.resolve() }, {});
  });

  beforeEach(() =>
    helper.load(
      [registryNode as NodeModule, commandNode as NodeModule, ruleNode as NodeModule],
      [
        { id: 'f1', type: 'tab' },
        { id: 'reg', type: 'm2m-registry', name: 'plant', storeType: 'memory' },
        {
          id: 'rules',
          type: 'm2m-rule',
          z: 'f1',
          rules: [{ name: 'high', metric: 't', severity: 'major', raise: { op: '>', value: 5 } }],
          wires: [['alarms']],
        },
        { id: 'alarms', type: 'helper', z: 'f1' },
        { id: 'cmd', type: 'm2m-command', z: 'f1', registry: 'reg', wires: [[], ['events']] },
        { id: 'events', type: 'helper', z: 'f1' },
      ],
    ),
  );

  afterEach(async () => {
    await helper.unload();
    MemoryCommandStore.forget('cmd');
    MemoryStore.forget('reg');
  });

  const as = (user: string): Record<string, string> => ({ authorization: `Bearer ${tokens[user]}` });

  it('without a token every route answers 401', async () => {
    for (const path of ['/m2m/registries', '/m2m/registries/reg/devices', '/m2m/registries/reg/devices/d1', '/m2m/alarms', '/m2m/commands']) {
      assert.strictEqual((await api.get(path)).status, 401, path);
    }
    for (const path of ['/m2m/alarms/rules/d1/high/ack', '/m2m/alarms/rules/d1/ack', '/m2m/commands/cmd/c1/cancel']) {
      assert.strictEqual((await api.post(path)).status, 401, path);
    }
    assert.strictEqual((await api.get('/m2m/registries', { authorization: 'Bearer forged' })).status, 401);
  });

  it('a read-only user reads (200) and is refused changes (403); a user without m2m.read is refused reading (403)', async () => {
    const read = await api.get('/m2m/registries', as('bob'));
    assert.deepStrictEqual([read.status, read.body], [200, [{ id: 'reg', name: 'plant', store: 'memory', devices: 0, online: 0 }]]);
    assert.strictEqual((await api.get('/m2m/commands', as('bob'))).status, 200);
    assert.strictEqual((await api.post('/m2m/commands/cmd/c1/cancel', undefined, as('bob'))).status, 403);
    assert.strictEqual((await api.post('/m2m/alarms/rules/d1/high/ack', undefined, as('bob'))).status, 403);
    assert.strictEqual((await api.get('/m2m/registries', as('carol'))).status, 403);
  });

  it('a user with full permissions cancels commands and acknowledges alarms, and is named as the one who did', async () => {
    const reg = (helper.getNode('reg') as unknown as { registry: DeviceRegistry }).registry;
    await reg.register({ id: 'd1' });
    const events: StatusEvent[] = [];
    helper.getNode('events').on('input', (msg) => events.push(msg.payload as StatusEvent));
    helper.getNode('cmd').receive({ deviceId: 'd1', command: 'reboot' });
    await waitFor(() => events.length === 1, 'the queued event');
    assert.strictEqual((await api.post('/m2m/commands/cmd/unknown/cancel', undefined, as('alice'))).status, 404, 'past the permission check');
    const res = await api.post(`/m2m/commands/cmd/${events[0].id}/cancel`, undefined, as('alice'));
    assert.strictEqual(res.status, 200);
    await waitFor(() => events.length === 2, 'the canceled event');
    assert.deepStrictEqual([events[1].status, events[1].error], ['canceled', 'canceled by alice']);

    const alarms: AlarmEvent[] = [];
    helper.getNode('alarms').on('input', (msg) => alarms.push(msg.payload as AlarmEvent));
    helper.getNode('rules').receive({ deviceId: 'd1', payload: { t: 9 } });
    await waitFor(() => alarms.length === 1, 'the raised alarm');
    assert.strictEqual((await api.post('/m2m/alarms/rules/d1/high/ack', undefined, as('bob'))).status, 403);
    assert.strictEqual((await api.post('/m2m/alarms/rules/d1/high/ack', undefined, as('alice'))).status, 200);
    await waitFor(() => alarms.length === 2, 'the acknowledged event');
    assert.deepStrictEqual([alarms[1].event, (alarms[1] as AlarmEvent & { by?: string }).by], ['acknowledged', 'alice']);
  });
});
