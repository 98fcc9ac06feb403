// npm run bench:admin — the admin API's device page over a 100,000-device registry (server time per request,
// in process and over HTTP), beside the registry's own list page; and the editor's live updates under an
// alarm storm of 1,000 transitions a second, beside one message per transition.
import http from 'http';
import type { AddressInfo } from 'net';
import { AdminDirectory } from '../lib/admin/directory';
import { AdminApi } from '../lib/admin/api';
import { parseDeviceSearch } from '../lib/admin/requests';
import { openRegistry, type DeviceRegistry } from '../lib/registry';
import { registerAdminRoutes, LIVE_INTERVAL_MS, type AdminHttp } from '../nodes/shared/admin-routes';
import { Coalescer } from '../lib/admin/coalescer';
import { fmt, latencies, report } from './harness';

// Node-RED's admin server is an Express app; express ships no types
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express = require('express') as () => AdminHttp & http.RequestListener;

const DEVICES = 100_000;
const REQUESTS = 200;

async function fleet(): Promise<DeviceRegistry> {
  const registry = await openRegistry({ name: 'bench', store: { kind: 'memory', key: 'admin-bench' }, types: [{ name: 'pump' }, { name: 'valve' }] });
  for (let i = 0; i < DEVICES; i++) {
    await registry.register({
      id: `plant-a:line-${i % 40}:dev-${i}`,
      name: `Device ${i}`,
      type: i % 3 === 0 ? 'valve' : 'pump',
      tags: i % 2 ? ['hall-1'] : [],
    });
  }
  for (let i = 0; i < DEVICES; i += 10) registry.markSeen(`plant-a:line-${i % 40}:dev-${i}`);
  return registry;
}

function listing(directory: AdminDirectory, registry: DeviceRegistry): void {
  directory.addRegistry({
    id: 'reg',
    name: registry.name,
    storeKind: () => registry.storeKind,
    counts: () => registry.counts(),
    search: (q) => registry.search(q),
    get: (id) => registry.get(id),
  });
}

async function pageBench(): Promise<void> {
  console.log(`\n== devices page, ${fmt(DEVICES)} devices, 100 a page (server time per request, µs) ==`);
  const registry = await fleet();
  const directory = new AdminDirectory();
  listing(directory, registry);
  const api = new AdminApi(directory);
  const baseline = latencies(REQUESTS, () => JSON.stringify(registry.list({ page: 0, pageSize: 100 })));
  const cases: Array<[string, string]> = [
    ['first page', ''],
    ['page at offset 50,000', 'offset=50000'],
    ['online=true, page 2', 'online=true&offset=100'],
    ['type=valve&tag=hall-1', 'type=valve&tag=hall-1'],
    ['q=dev-9999 (search id and name)', 'q=dev-9999'],
  ];
  for (const [name, query] of cases) {
    const params = Object.fromEntries(new URLSearchParams(query));
    const t = latencies(REQUESTS, () => JSON.stringify(api.devices('reg', parseDeviceSearch(params))));
    report({ name: `${name} p50`, value: t.p50, unit: 'µs', baseline: baseline.p50, baselineName: 'registry.list page 0' });
  }

  // Over HTTP, through the routes as Node-RED's admin server runs them (no auth configured).
  const app = express();
  registerAdminRoutes(app, { needsPermission: () => (_req, _res, next) => next() }, directory);
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  for (const [name, query] of [cases[0], cases[1], cases[4]]) {
    const samples: number[] = [];
    for (let i = 0; i < 50; i++) {
      const start = process.hrtime.bigint();
      const res = await fetch(`http://127.0.0.1:${port}/m2m/registries/reg/devices?${query}`);
      await res.json();
      samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    samples.sort((a, b) => a - b);
    report({ name: `HTTP round trip, ${name}, p50`, value: samples[25], unit: 'ms' });
  }
  server.close();
  await registry.close();
}

async function stormBench(): Promise<void> {
  console.log('\n== live updates under an alarm storm: 1,000 transitions a second for 3 s ==');
  let published = 0;
  const coalescer = new Coalescer(() => published++, LIVE_INTERVAL_MS);
  const directory = new AdminDirectory();
  directory.onChange((kind) => coalescer.mark(`m2m/${kind}`));
  const rule = directory.addAlarms({ id: 'rule', name: 'rule', ruleNames: () => [], list: () => [], knows: () => false, control: async () => [] });
  published = 0;
  const started = Date.now();
  let transitions = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      // 10 transitions every 10 ms
      for (let i = 0; i < 10; i++, transitions++) rule.changed();
      if (Date.now() - started >= 3000) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  const seconds = (Date.now() - started) / 1000;
  report({
    name: 'comms messages a second',
    value: published / seconds,
    unit: 'msg/s',
    baseline: transitions / seconds,
    baselineName: 'one per transition',
    higherIsBetter: false,
  });
  coalescer.close();
}

void (async () => {
  await pageBench();
  await stormBench();
})();
