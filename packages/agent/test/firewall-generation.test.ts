// The iptables port's resync with nf_tables ruleset generations (backends/ruleset-generation.ts): an unchanged
// generation skips reading the rules back, any write in the namespace makes it read (and rewrite what was lost);
// iptables-legacy, a missing reader or a failing one keep reading at every resync. On a fake iptables with a fake
// generation, then on the real one in a namespace, also through NodeFirewall's own resync timer.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { LabScope, canRunWith, type Netns } from '@weft/lab';
import { nftGeneration } from '@weft/tunnel';
import { flannelRuleset } from '../src/firewall.ts';
import { iptablesFirewall } from '../src/backends/iptables.ts';
import { NodeFirewall } from '../src/dataplane/node-firewall.ts';
import { FakeIptables } from './support/fake-iptables.ts';

const NET = tryParseIpv4Prefix('10.244.0.0/16')!;
const POD = tryParseIpv4Prefix('10.244.1.0/24')!;
const log = pino({ level: 'silent' });
const RULES = flannelRuleset(NET, POD, { ipMasq: true, forward: true });

test('nf_tables: an unchanged generation reads nothing; a foreign write costs one read per table; our loss is rewritten', async () => {
  const ipt = new FakeIptables('nf_tables');
  let reads = 0;
  const fw = iptablesFirewall(ipt.run, () => (reads++, ipt.generation));
  await fw.apply(log, RULES);
  assert.ok(ipt.ran.includes('iptables-restore'), ipt.ran.join(' '));
  assert.is(ipt.ran.filter((c) => c === 'iptables --version').length, 1);
  ipt.ran.length = 0;
  await fw.apply(log, RULES);
  await fw.apply(log, RULES);
  assert.equal(ipt.ran, [], 'nothing written anywhere: no command at all');
  assert.ok(reads >= 3, `generation read ${reads} times`);
  ipt.generation++; // someone else's write, not touching ours
  await fw.apply(log, RULES);
  assert.equal(ipt.ran, ['iptables-save', 'iptables-save']);
  ipt.ran.length = 0;
  await fw.apply(log, RULES);
  assert.equal(ipt.ran, [], 'the foreign write verified once, then remembered');
  ipt.lose('filter', /^-A WEFT-FWD /); // our chain flushed
  await fw.apply(log, RULES);
  assert.ok(ipt.ran.includes('iptables-restore'), ipt.ran.join(' '));
  assert.is(ipt.tables.get('filter')!.filter((l) => l.startsWith('-A WEFT-FWD ')).length, 2);
  ipt.lose('nat', /-j WEFT-POSTRTG$/); // our jump deleted
  ipt.ran.length = 0;
  await fw.apply(log, RULES);
  assert.is(ipt.tables.get('nat')!.filter((l) => l.endsWith('-j WEFT-POSTRTG')).length, 1);
  ipt.ran.length = 0;
  await fw.apply(log, RULES);
  assert.equal(ipt.ran, [], 'after the rewrite, the generation it left is the one remembered');
});

test('iptables-legacy: the generation is never consulted; every resync reads each table, and rewrites a loss', async () => {
  const ipt = new FakeIptables('legacy');
  let reads = 0;
  const fw = iptablesFirewall(ipt.run, () => (reads++, ipt.generation));
  await fw.apply(log, RULES);
  ipt.ran.length = 0;
  await fw.apply(log, RULES);
  assert.equal(ipt.ran, ['iptables-save', 'iptables-save']);
  ipt.lose('filter', /^-A WEFT-FWD /, false); // legacy writes bump no nf_tables generation
  await fw.apply(log, RULES);
  assert.is(ipt.tables.get('filter')!.filter((l) => l.startsWith('-A WEFT-FWD ')).length, 2);
  assert.is(reads, 0);
});

test('a generation that cannot be read: one warning, then the reading path; no reader: the version is not asked', async () => {
  const ipt = new FakeIptables('nf_tables');
  const lines: string[] = [];
  const warnLog = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
  const fw = iptablesFirewall(ipt.run, () => {
    throw new Error('socket: Protocol not supported');
  });
  await fw.apply(warnLog, RULES);
  ipt.ran.length = 0;
  await fw.apply(warnLog, RULES);
  await fw.apply(warnLog, RULES);
  assert.equal(ipt.ran, ['iptables-save', 'iptables-save', 'iptables-save', 'iptables-save']);
  assert.is(lines.filter((l) => /generation unreadable/.test(l)).length, 1, lines.join(''));
  const plain = new FakeIptables('nf_tables');
  const fw2 = iptablesFirewall(plain.run);
  await fw2.apply(log, RULES);
  plain.lose('filter', /^-A WEFT-FWD /, false);
  await fw2.apply(log, RULES);
  assert.not.ok(plain.ran.includes('iptables --version'));
  assert.is(plain.tables.get('filter')!.filter((l) => l.startsWith('-A WEFT-FWD ')).length, 2);
});

/** Polls (at most `tries` x 100 ms) until `check` holds; whether it did. */
async function eventually(check: () => Promise<boolean>, tries = 50): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

if (canRunWith('iptables generations in a namespace', ['iptables', 'iptables-restore', 'iptables-save'])) {
  const inNs = (ns: Netns, ran: string[]) => (argv: readonly string[], input: string) => {
    ran.push(argv[0]!);
    return ns.exec(argv, { input });
  };

  test('real nf_tables: no command while nothing changes; a flushed chain and a deleted jump come back', async () => {
    const scope = new LabScope('idle-fwgen');
    try {
      const ns = await scope.netns('n');
      const save = async () => (await ns.exec(['iptables-save'])).stdout;
      const ran: string[] = [];
      const fw = iptablesFirewall(inNs(ns, ran), () => nftGeneration(`/run/netns/${ns.name}`));
      await fw.apply(log, RULES);
      ran.length = 0;
      await fw.apply(log, RULES);
      assert.equal(ran, [], 'an unchanged generation: not even iptables-save');
      await ns.exec(['iptables', '-A', 'INPUT', '-s', '192.0.2.9', '-j', 'ACCEPT']); // someone else's rule
      await fw.apply(log, RULES);
      assert.equal(ran, ['iptables-save', 'iptables-save'], 'a foreign write: read, nothing rewritten');
      await ns.exec(['iptables', '-F', 'WEFT-FWD']);
      await fw.apply(log, RULES);
      assert.is((await save()).match(/-A WEFT-FWD /g)?.length, 2);
      const jump = (await save()).split('\n').find((l) => l.endsWith('-j WEFT-POSTRTG'))!;
      await ns.exec(['sh', '-c', `iptables -t nat ${jump.replace(/^-A /, '-D ')}`]);
      await fw.apply(log, RULES);
      assert.is((await save()).match(/-j WEFT-POSTRTG/g)?.length, 1);
      ran.length = 0;
      await fw.apply(log, RULES);
      assert.equal(ran, []);
      await fw.remove(log, RULES);
      assert.not.match(await save(), /WEFT/);
    } finally {
      await scope.cleanup();
    }
  });

  test("NodeFirewall's resync timer restores a flushed chain within a resync, with and without generations", async () => {
    const scope = new LabScope('idle-fwtimer');
    try {
      const ns = await scope.netns('n');
      const count = async () => ((await ns.exec(['iptables-save'])).stdout.match(/-A WEFT-FWD /g) ?? []).length;
      for (const withGeneration of [true, false]) {
        const fw = iptablesFirewall(
          inNs(ns, []),
          withGeneration ? () => nftGeneration(`/run/netns/${ns.name}`) : undefined,
        );
        const nf = new NodeFirewall({
          firewall: fw,
          network: NET,
          subnet: POD,
          ipMasq: true,
          forward: true,
          resyncSeconds: 1,
          log,
        });
        assert.ok(await nf.start());
        await ns.exec(['iptables', '-F', 'WEFT-FWD']);
        assert.is(await count(), 0);
        assert.ok(await eventually(async () => (await count()) === 2), `restored (generations: ${withGeneration})`);
        await nf.stop();
        assert.is(await count(), 0);
      }
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
