import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunPrivileged, listLabNamespaces, LabNameError } from '../src/index.ts';

test('lab names are validated before anything is created', () => {
  assert.throws(
    () => new LabScope('Bad Name'),
    (e: unknown) => e instanceof LabNameError,
  );
});

if (canRunPrivileged('lab namespaces')) {
  test('two namespaces joined by a veth can ping, and cleanup removes them', async () => {
    const scope = new LabScope('t-netns');
    try {
      const a = await scope.netns('a');
      const b = await scope.netns('b');
      await scope.veth(a, 'eth0', b, 'eth0', 1400);
      await a.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
      await b.ip(['addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
      const ping = await a.exec(['ping', '-c', '1', '-W', '2', '192.0.2.2']);
      assert.match(ping.stdout, /1 received/);
      const mtu = await b.ip(['-json', 'link', 'show', 'eth0']);
      assert.is(JSON.parse(mtu.stdout)[0].mtu, 1400);
      const sleeper = scope.spawn('sleeper', a, ['sleep', '30']);
      assert.ok(sleeper.pid > 0);
      assert.equal(await listLabNamespaces('t-netns'), ['wl-t-netns-a', 'wl-t-netns-b']);
    } finally {
      await scope.cleanup();
    }
    assert.equal(await listLabNamespaces('t-netns'), []);
  });
}

test.run();
