import assert from 'assert';
import fs from 'fs';
import os from 'os';
import path from 'path';
import Redis from 'ioredis';
import { openRegistry, type DeviceRegistry, type StoreConfig } from '../../lib/registry';
import { TwinService, type TwinEvent } from '../../lib/twin/twin';
import { serviceAvailable } from '../helpers/services';

// A twin lives in the registry's store: whatever was acknowledged is there when the registry is opened again,
// and the next change builds on it (versions keep rising).

interface Fixture {
  name: string;
  config(): StoreConfig;
  cleanup(): Promise<void>;
  enabled?(): boolean;
}

function twinStoreSuite(fixture: Fixture): void {
  describe(`device twin in the ${fixture.name} store`, () => {
    const open: DeviceRegistry[] = [];
    const openOne = async (): Promise<{ registry: DeviceRegistry; twins: TwinService }> => {
      const registry = await openRegistry({ name: `twin-${process.pid}`, store: fixture.config(), types: [{ name: 'thermostat' }] });
      open.push(registry);
      return { registry, twins: await TwinService.open(registry) };
    };

    beforeEach(function () {
      if (fixture.enabled && !fixture.enabled()) this.skip();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((r) => r.close()));
      await fixture.cleanup();
    });

    it('keeps desired, reported, versions and key times across a reopen, and the delta with them', async () => {
      const first = await openOne();
      await first.registry.register({ id: 'th-1', type: 'thermostat' });
      await first.registry.register({ id: 'th-2', type: 'thermostat' });
      await first.twins.desire('th-1', { setpoint: 21, schedule: { mon: [6, 22] } });
      await first.twins.desire('th-1', { setpoint: 22 });
      await first.twins.report('th-1', { setpoint: 20, firmware: '1.2' });
      await first.twins.desire('th-2', { setpoint: 18 });
      await first.registry.remove('th-2');
      const before = await first.twins.get('th-1');
      await first.registry.close();

      const second = await openOne();
      const after = await second.twins.get('th-1');
      assert.deepStrictEqual(after, before);
      assert.deepStrictEqual(after.delta, { setpoint: 22, schedule: { mon: [6, 22] } });
      assert.deepStrictEqual((await second.registry.state('twin')).keys(), ['th-1'], 'the removed device took its twin with it');
      const events: TwinEvent[] = [];
      second.twins.on('twin', (e: TwinEvent) => events.push(e));
      const { twin } = await second.twins.report('th-1', { setpoint: 22, schedule: { mon: [6, 22] } });
      assert.deepStrictEqual([twin.desiredVersion, twin.reportedVersion, twin.delta], [2, 2, {}]);
      assert.deepStrictEqual(
        events.map((e) => e.event),
        ['synced'],
      );
    });
  });
}

let fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-twin-'));
twinStoreSuite({
  name: 'file',
  config: () => ({ kind: 'file', dir: fileDir }),
  cleanup: async () => {
    fs.rmSync(fileDir, { recursive: true, force: true });
    fileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'm2m-twin-'));
  },
});

let memoryKey = `twin-${Math.random()}`;
twinStoreSuite({
  name: 'memory (kept across redeploy)',
  config: () => ({ kind: 'memory', key: memoryKey }),
  cleanup: async () => {
    memoryKey = `twin-${Math.random()}`;
  },
});

// The real Redis when it is up; CI=true requires it (serviceAvailable throws), so the suite never skips there.
let redisUp = false;
const redisNamespace = `twin-test-${process.pid}-${Date.now()}`;
before(async () => {
  redisUp = await serviceAvailable('Redis', 6379);
});
twinStoreSuite({
  name: 'redis',
  config: () => ({ kind: 'redis', url: 'redis://127.0.0.1:6379', namespace: redisNamespace }),
  enabled: () => redisUp,
  cleanup: async () => {
    const client = new Redis('redis://127.0.0.1:6379');
    const keys = await client.keys(`m2m:${redisNamespace}:*`);
    if (keys.length) await client.del(...keys);
    await client.quit();
  },
});
