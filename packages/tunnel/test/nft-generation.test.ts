// nftGeneration (native/netlink_gen.cc): the nf_tables ruleset generation of a namespace moves with every write to
// its rules and stays put for reads, and is per namespace; failures come back as RulesetGenerationError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope, canRunWith } from '@weft/lab';
import { nftGeneration, RulesetGenerationError, TunnelError } from '../src/index.ts';

test('a namespace that does not exist: RulesetGenerationError with the errno and the step', () => {
  try {
    nftGeneration('/run/netns/wl-idle-no-such-namespace');
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, RulesetGenerationError);
    assert.instance(e, TunnelError);
    assert.is((e as RulesetGenerationError).name, 'RulesetGenerationError');
    assert.is((e as RulesetGenerationError).code, 'ENOENT');
  }
});

test('a wrong kind of argument is a TypeError naming the function', () => {
  assert.throws(
    () => nftGeneration(5 as unknown as string),
    (e: Error) => e instanceof TypeError && /nftGeneration/.test(e.message),
  );
});

if (canRunWith('nf_tables generation in a namespace', ['iptables', 'iptables-save'])) {
  test('the generation changes with each rule written in the namespace, not with reads, not with other namespaces', async () => {
    const scope = new LabScope('idle-gen');
    try {
      const a = await scope.netns('a');
      const b = await scope.netns('b');
      const pathOf = (n: { name: string }) => `/run/netns/${n.name}`;
      const a0 = nftGeneration(pathOf(a));
      const b0 = nftGeneration(pathOf(b));
      assert.type(a0, 'number');
      assert.ok(Number.isInteger(a0) && a0 >= 0 && a0 <= 0xffffffff, String(a0));
      assert.is(nftGeneration(pathOf(a)), a0, 'nothing written: the same number');
      await a.exec(['iptables', '-A', 'FORWARD', '-s', '192.0.2.1', '-j', 'ACCEPT']);
      const a1 = nftGeneration(pathOf(a));
      assert.is.not(a1, a0, 'a rule added: a new generation');
      await a.exec(['iptables-save']);
      await a.exec(['iptables', '-C', 'FORWARD', '-s', '192.0.2.1', '-j', 'ACCEPT']);
      assert.is(nftGeneration(pathOf(a)), a1, 'reading and checking rules write nothing');
      assert.is(nftGeneration(pathOf(b)), b0, "another namespace's writes do not count");
      await a.exec(['iptables', '-F', 'FORWARD']);
      assert.is.not(nftGeneration(pathOf(a)), a1, 'a flush: a new generation');
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
