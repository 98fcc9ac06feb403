import fs from 'fs';
import os from 'os';
import path from 'path';
import Redis from 'ioredis';
import { serviceAvailable } from '../helpers/services';
import { storeSuite } from './store-suite';

storeSuite({ name: 'memory', durable: false, config: () => ({ kind: 'memory' }) });

let fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-store-'));
storeSuite({
  name: 'file',
  durable: true,
  config: () => ({ kind: 'file', dir: fileDir, compactAfter: 500 }),
  cleanup: async () => {
    fs.rmSync(fileDir, { recursive: true, force: true });
    fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-store-'));
  },
});
after(() => fs.rmSync(fileDir, { recursive: true, force: true }));

// The memory store keeps its data under a key across reopen, like a redeploy does.
let memoryKey = `k-${Math.random()}`;
storeSuite({
  name: 'memory (kept across redeploy)',
  durable: true,
  config: () => ({ kind: 'memory', key: memoryKey }),
  cleanup: async () => {
    memoryKey = `k-${Math.random()}`;
  },
});

let redisUp = false;
const redisNamespace = `test-${process.pid}-${Date.now()}`;
before(async () => {
  redisUp = await serviceAvailable('Redis', 6379);
});
storeSuite(
  {
    name: 'redis',
    durable: true,
    config: () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', namespace: redisNamespace }),
    cleanup: async () => {
      const client = new Redis('redis://127.0.0.1:6379');
      const keys = await client.keys(`m2m:${redisNamespace}:*`);
      if (keys.length) await client.del(...keys);
      await client.quit();
    },
  },
  () => redisUp,
);
