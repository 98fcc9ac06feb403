// The same behaviour tests run against every store: what a registry reports as stored is there after reopening.
import assert from 'assert';
import { openRegistry, type DeviceRegistry, type StoreConfig } from '../../lib/registry';

export interface StoreFixture {
  name: string;
  /** A store config whose data persists across registries opened with it (until `cleanup`). */
  config(): StoreConfig;
  /** Whether data survives close and reopen. */
  durable: boolean;
  cleanup?(): Promise<void>;
}

export function storeSuite(fixture: StoreFixture, enabled: () => boolean = () => true): void {
  describe(`${fixture.name} store`, () => {
    const open: DeviceRegistry[] = [];
    const openOne = async (): Promise<DeviceRegistry> => {
      const registry = await openRegistry({ name: `test-${process.pid}`, store: fixture.config(), types: [{ name: 'sensor' }, { name: 'press' }] });
      open.push(registry);
      return registry;
    };

    beforeEach(function () {
      if (!enabled()) this.skip();
    });
    afterEach(async () => {
      await Promise.all(open.splice(0).map((r) => r.close()));
      await fixture.cleanup?.();
    });

    it('registers, reads, updates, lists and removes devices', async () => {
      const registry = await openOne();
      await registry.register({ id: 'a1', type: 'sensor', attributes: { limit: 5 }, tags: ['hall-1'] });
      await registry.register({ id: 'a2', type: 'press', tags: ['hall-1', 'line-2'] });
      assert.strictEqual(registry.get('a1')?.attributes.limit, 5);
      const updated = await registry.update('a1', { attributes: { limit: null, room: 'cold' }, name: 'Sensor A1' });
      assert.deepStrictEqual(updated.attributes, { room: 'cold' });
      assert.strictEqual(updated.name, 'Sensor A1');
      assert.deepStrictEqual(
        registry.list({ tag: 'line-2' }).devices.map((d) => d.id),
        ['a2'],
      );
      assert.deepStrictEqual(
        registry.list({ type: 'sensor' }).devices.map((d) => d.id),
        ['a1'],
      );
      await registry.remove('a2');
      assert.strictEqual(registry.get('a2'), undefined);
      assert.strictEqual(registry.list().total, 1);
    });

    // A store that keeps nothing across reopen gets only the tests above.
    if (!fixture.durable) return;

    it('keeps devices and state maps across close and reopen', async () => {
      const first = await openOne();
      await first.register({ id: 'keep-1', type: 'sensor', attributes: { limit: 3 } });
      await first.register({ id: 'gone-1' });
      await first.update('keep-1', { tags: ['t1'] });
      await first.remove('gone-1');
      const state = await first.state('rule:n1');
      await state.set('keep-1/overheat', { active: true, raisedAt: 42 });
      await state.set('tmp', 1);
      await state.delete('tmp');
      await first.touch('keep-1');
      await first.close();
      open.splice(0);

      const second = await openOne();
      const device = second.get('keep-1');
      assert.ok(device, 'device is there after reopening');
      assert.deepStrictEqual(device.attributes, { limit: 3 });
      assert.deepStrictEqual(device.tags, ['t1']);
      assert.ok(device.lastSeen, 'last seen time is kept on a clean close');
      assert.strictEqual(second.get('gone-1'), undefined);
      const reopened = await second.state('rule:n1');
      assert.deepStrictEqual(reopened.get('keep-1/overheat'), { active: true, raisedAt: 42 });
      assert.deepStrictEqual(reopened.keys(), ['keep-1/overheat']);
    });

    it('keeps many concurrent registrations', async () => {
      const first = await openOne();
      await Promise.all(Array.from({ length: 2000 }, (_, i) => first.register({ id: `bulk-${i}`, attributes: { i } })));
      await first.close();
      open.splice(0);
      const second = await openOne();
      assert.strictEqual(second.list({ pageSize: 1 }).total, 2000);
      assert.strictEqual(second.get('bulk-1999')?.attributes.i, 1999);
    });
  });
}
