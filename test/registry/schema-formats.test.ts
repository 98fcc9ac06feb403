import assert from 'assert';
import { compileSchema } from '../../lib/schema';

describe('schema formats', () => {
  const check = compileSchema({
    type: 'object',
    properties: {
      installedAt: { type: 'string', format: 'date-time' },
      contact: { type: 'string', format: 'email' },
      serial: { type: 'string', format: 'uuid' },
    },
  });

  it('checks format keywords of a device-type schema instead of ignoring them', () => {
    assert.strictEqual(check({ installedAt: '2026-11-29T10:00:00Z', contact: 'ops@plant.example', serial: '3f2504e0-4f89-11d3-9a0c-0305e82c3301' }), true);
    assert.strictEqual(check({ installedAt: 'last tuesday' }), false);
    assert.strictEqual(check({ contact: 'not an address' }), false);
    assert.strictEqual(check({ serial: '1234' }), false);
  });
});
