import assert from 'assert';
import crypto from 'crypto';
import sinon from 'sinon';
import { openRegistry, type DeviceRegistry } from '../../lib/registry';
import { MemoryStore } from '../../lib/registry/stores/memory';
import type { StoredDevice } from '../../lib/registry/stores/types';

/** A credential as the first release stored it: `scrypt$<salt>$<key>`. */
function legacyScryptHash(token: string): string {
  const salt = crypto.randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${crypto.scryptSync(token, salt, 32).toString('base64url')}`;
}

function storedSecret(registry: DeviceRegistry, id: string): string | undefined {
  return registry.snapshot().devices.find((d) => d.id === id)?.secret;
}

describe('device credentials', () => {
  let key: string;
  let registry: DeviceRegistry;

  beforeEach(async () => {
    key = `cred-${Math.random().toString(36).slice(2)}`;
    registry = await openRegistry({ name: key, store: { kind: 'memory', key } });
  });

  afterEach(async () => {
    sinon.restore();
    await registry.close();
    MemoryStore.forget(key);
  });

  it('stores new credentials as a salted HMAC-SHA256 and verifies them without scrypt (off the thread pool)', async () => {
    const { token } = await registry.register({ id: 'gw-1' }, { issueToken: true });
    assert.match(storedSecret(registry, 'gw-1') ?? '', /^hmac256\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    const scrypt = sinon.spy(crypto, 'scrypt');
    const results = await Promise.all(Array.from({ length: 40 }, () => registry.verify('gw-1', token as string)));
    assert.deepStrictEqual(new Set(results), new Set([true]));
    assert.strictEqual(await registry.verify('gw-1', `${token}x`), false);
    assert.strictEqual(await registry.verify('nobody', token as string), false);
    assert.strictEqual(scrypt.callCount, 0, 'no verify of a new-format hash queues on the thread pool');
  });

  it('verifies a stored scrypt hash once, then rewrites the record with the new hash', async () => {
    await registry.close();
    const token = crypto.randomBytes(24).toString('base64url');
    const legacy: StoredDevice = {
      id: 'old-1',
      name: 'old-1',
      type: '',
      attributes: {},
      tags: [],
      createdAt: 1,
      updatedAt: 1,
      lastSeen: null,
      secret: legacyScryptHash(token),
    };
    await MemoryStore.forKey(key).putDevice(legacy);
    registry = await openRegistry({ name: key, store: { kind: 'memory', key } });

    assert.strictEqual(await registry.verify('old-1', `${token}x`), false, 'a wrong token fails');
    assert.match(storedSecret(registry, 'old-1') ?? '', /^scrypt\$/, 'a failed verify changes nothing');

    assert.strictEqual(await registry.verify('old-1', token), true);
    assert.match(storedSecret(registry, 'old-1') ?? '', /^hmac256\$/);

    // The rewrite reached the store: a reopened registry verifies with HMAC, no scrypt.
    await registry.close();
    registry = await openRegistry({ name: key, store: { kind: 'memory', key } });
    assert.match(storedSecret(registry, 'old-1') ?? '', /^hmac256\$/);
    const scrypt = sinon.spy(crypto, 'scrypt');
    assert.strictEqual(await registry.verify('old-1', token), true);
    assert.strictEqual(await registry.verify('old-1', 'wrong'), false);
    assert.strictEqual(scrypt.callCount, 0);
    assert.strictEqual(registry.get('old-1')?.updatedAt, 1, 'migrating the hash is not a change of the device');
  });
});
