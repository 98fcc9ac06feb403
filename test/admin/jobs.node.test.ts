// GET /m2m/jobs: every m2m-job node's jobs with their progress, for the editor's M2M sidebar; live updates on m2m/jobs.
import assert from 'assert';
import type { RequestListener } from 'http';
import { adminDirectory } from '../../lib/admin/directory';
import { MemoryCommandStore } from '../../lib/command';
import type { JobProgress } from '../../lib/job';
import commandNode from '../../nodes/m2m-command/m2m-command';
import jobNode from '../../nodes/m2m-job/m2m-job';
import simulatorNode from '../../nodes/m2m-simulator/m2m-simulator';
import { registerAdminRoutes, type AdminAuth, type AdminHttp } from '../../nodes/shared/admin-routes';
import { collect, helper, waitFor, type FlowNode, type NodeModule } from '../helpers/node-red';
import { commsMessages, serve, serveHelperAdmin, type AdminClient } from './harness';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require('bcryptjs') as { hashSync(text: string, rounds: number): string };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const editorApi = require('@node-red/editor-api') as {
  init(settings: object, server: unknown, storage: object, runtimeAPI: object): void;
  httpAdmin: AdminHttp & RequestListener;
  auth: AdminAuth;
};

const MODULES = [jobNode, commandNode, simulatorNode] as NodeModule[];
let flows = 0;
let jobNodeId = '';

function flow(): FlowNode[] {
  jobNodeId = `jobs-admin-${++flows}`; // a job node keeps its jobs in memory across redeploys of the same id
  return [
    { id: 'f1', type: 'tab' },
    { id: jobNodeId, type: 'm2m-job', z: 'f1', name: 'rollouts', progressEvery: 0.1, wires: [['cmd'], [], ['progress']] },
    { id: 'cmd', type: 'm2m-command', z: 'f1', timeout: 5, wires: [['sim'], [jobNodeId]] },
    { id: 'sim', type: 'm2m-simulator', z: 'f1', devices: 20, idPrefix: 'pump-', interval: 0, latency: 5, seed: '3', wires: [['cmd']] },
    { id: 'progress', type: 'helper', z: 'f1' },
  ];
}

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `pump-${String(i + 1).padStart(3, '0')}`);

interface JobPage {
  total: number;
  offset: number;
  items: Array<JobProgress & { id: string; node: string }>;
}

async function runJob(jobId: string, devices: number): Promise<void> {
  const progress = collect(helper.getNode('progress'));
  helper
    .getNode(jobNodeId)
    .receive({ action: 'start', payload: { jobId, target: { devices: ids(devices) }, command: 'update', rollout: { perMinute: 60_000, maxInFlight: 5 } } });
  await waitFor(
    () => progress.some((m) => (m.payload as JobProgress).jobId === jobId && (m.payload as JobProgress).state === 'completed'),
    `job ${jobId} to complete`,
    10_000,
  );
}

describe('admin API: jobs', () => {
  let api: AdminClient;

  beforeEach(async () => {
    await helper.load(MODULES, flow());
    api = await serveHelperAdmin();
  });

  afterEach(async () => {
    await api.close();
    await helper.unload();
    MemoryCommandStore.forget(`job:${jobNodeId}`);
    MemoryCommandStore.forget('cmd');
  });

  it('lists each job with its node, state, counts per state, rate and expected end, as a page', async () => {
    const empty = await api.get('/m2m/jobs');
    assert.deepStrictEqual([empty.status, empty.body], [200, { total: 0, offset: 0, items: [] }]);
    const live = commsMessages();
    try {
      await runJob('fw-1', 20);
      await waitFor(() => live.messages.some((m) => m.topic === 'm2m/jobs'), 'a live update on m2m/jobs');
    } finally {
      live.stop();
    }
    await runJob('fw-2', 6);
    const res = await api.get('/m2m/jobs');
    assert.strictEqual(res.status, 200);
    const page = res.body as JobPage;
    assert.strictEqual(page.total, 2);
    assert.deepStrictEqual(page.items.map((j) => j.id).sort(), ['fw-1', 'fw-2']);
    const one = page.items.find((j) => j.id === 'fw-1') as JobPage['items'][number];
    assert.strictEqual(one.node, jobNodeId);
    assert.strictEqual(one.state, 'completed');
    assert.strictEqual(one.total, 20);
    assert.strictEqual(one.counts.succeeded, 20);
    assert.strictEqual(one.counts.queued + one.counts['in-progress'], 0);
    assert.strictEqual(typeof one.ratePerMinute, 'number');
    assert.ok('expectedEndAt' in one, 'the expected end (null once ended)');
    const second = await api.get('/m2m/jobs?offset=1&limit=1');
    assert.deepStrictEqual([(second.body as JobPage).total, (second.body as JobPage).offset, (second.body as JobPage).items.length], [2, 1, 1]);
    assert.strictEqual(((await api.get('/m2m/jobs?running=true')).body as JobPage).total, 0, 'none still running');
    assert.strictEqual(((await api.get('/m2m/jobs?running=false')).body as JobPage).total, 2);
  });

  it('a running job shows its expected end; bad query parameters are 400 with the field', async () => {
    const progress = collect(helper.getNode('progress'));
    helper
      .getNode(jobNodeId)
      .receive({ action: 'start', payload: { jobId: 'slow', target: { devices: ids(20) }, command: 'update', rollout: { perMinute: 60, maxInFlight: 1 } } });
    await waitFor(() => progress.some((m) => (m.payload as JobProgress).jobId === 'slow'), 'the job started');
    const running = ((await api.get('/m2m/jobs?running=true')).body as JobPage).items[0];
    assert.strictEqual(running.state, 'in-progress');
    assert.ok(typeof running.expectedEndAt === 'number' && running.expectedEndAt > Date.now(), 'an expected end ahead');
    helper.getNode(jobNodeId).receive({ action: 'cancel', jobId: 'slow' });
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['offset=-1', 'offset'],
      ['running=maybe', 'running'],
      ['limit=1&limit=2', 'limit'],
    ]) {
      const res = await api.get(`/m2m/jobs?${query}`);
      assert.strictEqual(res.status, 400, query);
      assert.strictEqual((res.body as { field: string }).field, field, query);
    }
  });
});

describe('admin API: jobs behind Node-RED adminAuth', () => {
  let api: AdminClient;
  const tokens: Record<string, string> = {};
  const PASSWORD = 'correct horse';
  const USERS = [
    { username: 'bob', password: bcrypt.hashSync(PASSWORD, 4), permissions: 'read' },
    { username: 'carol', password: bcrypt.hashSync(PASSWORD, 4), permissions: ['flows.read'] },
  ];

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
    await helper.load(MODULES, flow());
  });

  after(async () => {
    await api.close();
    await helper.unload();
    MemoryCommandStore.forget(`job:${jobNodeId}`);
    MemoryCommandStore.forget('cmd');
    editorApi.init({ disableEditor: true }, null, { getSessions: () => Promise.resolve({}), saveSessions: () => Promise.resolve() }, {});
  });

  it('401 without a token, 200 with m2m.read (read), 403 for a user without it', async () => {
    await runJob('fw-auth', 4);
    assert.strictEqual((await api.get('/m2m/jobs')).status, 401);
    assert.strictEqual((await api.get('/m2m/jobs', { authorization: 'Bearer forged' })).status, 401);
    const read = await api.get('/m2m/jobs', { authorization: `Bearer ${tokens.bob}` });
    assert.strictEqual(read.status, 200);
    assert.deepStrictEqual(
      (read.body as JobPage).items.map((j) => [j.id, j.node, j.state]),
      [['fw-auth', jobNodeId, 'completed']],
    );
    assert.strictEqual((await api.get('/m2m/jobs', { authorization: `Bearer ${tokens.carol}` })).status, 403);
  });
});
