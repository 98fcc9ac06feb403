import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Redis from 'ioredis';
import { openRegistry, type DeviceEvent, type DeviceRegistry, type StoreConfig } from '../../lib/registry';
import { PRESENCE_NAMESPACE } from '../../lib/registry/registry';
import { serviceAvailable } from '../helpers/services';

// An explicit offline mark is kept per device in the registry's store: a restart keeps the device offline
// (its last uplink is recent enough that the timer alone would call it online) until it is heard again.

interface Fixture {
  name: string;
  config(): StoreConfig;
  cleanup(): Promise<void>;
  enabled?(): boolean;
  shared?: boolean;
}

function presenceStoreSuite(fixture: Fixture): void {
  describe(`presence in the ${fixture.name} store`, () => {
    const open: DeviceRegistry[] = [];
    const openOne = async (): Promise<DeviceRegistry> => {
      const registry = await openRegistry({ name: `presence-${process.pid}`, store: fixture.config(), defaultOfflineTimeoutMs: 600_000 });
      open.push(registry);
      return registry;
    };
    const reopen = async (registry: DeviceRegistry): Promise<DeviceRegistry> => {
      await registry.close();
      open.splice(open.indexOf(registry), 1);
      return openOne();
    };

    beforeEach(function () {
      if (fixture.enabled && !fixture.enabled()) this.skip();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((r) => r.close()));
      await fixture.cleanup();
    });

    it('a device marked offline stays offline after a restart until it is heard again; one heard since is online', async () => {
      let registry = await openOne();
      for (const id of ['gone', 'back', 'quiet', 'removed']) {
        await registry.register({ id });
        await registry.touch(id);
      }
      assert.strictEqual(registry.markOffline('gone'), true);
      registry.markOffline('back');
      registry.markOffline('removed');
      await new Promise((resolve) => setTimeout(resolve, 5));
      await registry.touch('back');
      await registry.remove('removed');

      registry = await reopen(registry);
      assert.deepStrictEqual(
        ['gone', 'back', 'quiet'].map((id) => registry.isOnline(id)),
        [false, true, true],
      );
      assert.deepStrictEqual((await registry.state(PRESENCE_NAMESPACE)).keys(), ['gone'], 'one mark, of the device still marked');

      const events: string[] = [];
      registry.on('device', (e: DeviceEvent) => events.push(`${e.event}:${e.deviceId}`));
      assert.strictEqual(registry.markOffline('gone'), false, 'still offline: no second event after the restart');
      await registry.touch('gone');
      assert.deepStrictEqual(events, ['online:gone']);

      registry = await reopen(registry);
      assert.strictEqual(registry.isOnline('gone'), true, 'heard again: the mark is gone');
      assert.deepStrictEqual((await registry.state(PRESENCE_NAMESPACE)).keys(), []);
    });

    if (!fixture.shared) return;

    it('another instance sharing the store follows an offline mark, with its own one event', async () => {
      const a = await openOne();
      const b = await openOne();
      const known = new Promise((resolve) => b.on('device', (e: DeviceEvent) => e.event === 'registered' && resolve(e)));
      await a.register({ id: 'th-9' });
      await known;
      await a.touch('th-9');
      await b.touch('th-9');
      const seen = new Promise<DeviceEvent>((resolve) => b.on('device', (e: DeviceEvent) => e.event === 'offline' && resolve(e)));
      a.markOffline('th-9');
      assert.strictEqual((await seen).deviceId, 'th-9');
      assert.strictEqual(b.isOnline('th-9'), false);
      assert.strictEqual(b.markOffline('th-9'), false);
    });
  });
}

let memoryKey = `presence-${Math.random()}`;
presenceStoreSuite({
  name: 'memory (kept across redeploy)',
  config: () => ({ kind: 'memory', key: memoryKey }),
  cleanup: async () => {
    memoryKey = `presence-${Math.random()}`;
  },
});

let fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-presence-'));
presenceStoreSuite({
  name: 'file',
  config: () => ({ kind: 'file', dir: fileDir }),
  cleanup: async () => {
    fs.rmSync(fileDir, { recursive: true, force: true });
    fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-presence-'));
  },
});
after(() => fs.rmSync(fileDir, { recursive: true, force: true }));

let redisUp = false;
const redisNamespace = `presence-${process.pid}-${Date.now()}`;
before(async () => {
  redisUp = await serviceAvailable('Redis', 6379);
});
presenceStoreSuite({
  name: 'redis',
  shared: true,
  enabled: () => redisUp,
  config: () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', namespace: redisNamespace }),
  cleanup: async () => {
    const client = new Redis('redis://127.0.0.1:6379');
    const keys = await client.keys(`m2m:${redisNamespace}:*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  },
});
