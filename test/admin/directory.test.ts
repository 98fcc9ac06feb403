import assert from 'assert';
import { AdminDirectory } from '../../lib/admin/directory';
import type { CommandSource } from '../../lib/admin/types';

const commands = (id: string, name: string): CommandSource => ({ id, name, list: () => [], cancel: () => undefined });

describe('AdminDirectory (the live nodes the admin API sees)', () => {
  it('a redeployed node replaces its old instance, and the old one closing late does not take the new one out', () => {
    const directory = new AdminDirectory();
    const old = directory.addCommands(commands('cmd', 'v1'));
    directory.addCommands(commands('cmd', 'v2'));
    old.remove();
    assert.strictEqual(directory.commands.get('cmd')?.name, 'v2');
  });

  it('tells listeners what kind of thing changed, only for the instance that is listed', () => {
    const directory = new AdminDirectory();
    const kinds: string[] = [];
    directory.onChange((kind) => kinds.push(kind));
    const old = directory.addCommands(commands('cmd', 'v1'));
    const current = directory.addCommands(commands('cmd', 'v2'));
    kinds.length = 0;
    old.changed();
    current.changed();
    current.remove();
    assert.deepStrictEqual(kinds, ['commands', 'commands']);
    assert.strictEqual(directory.commands.size, 0);
  });
});
