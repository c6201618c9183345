// flanneld's masquerade and forward rules as weft writes them (firewall.ts), and the iptables port
// (backends/iptables.ts) in a namespace of its own: idempotent apply, foreign rules untouched, clean removal.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { LabScope, canRunWith } from '@weft/lab';
import { flannelRuleset, forwardRules, masqueradeRules } from '../src/firewall.ts';
import { iptablesFirewall, restoreText } from '../src/backends/iptables.ts';

const NET = tryParseIpv4Prefix('10.244.0.0/16')!;
const POD = tryParseIpv4Prefix('10.244.1.0/24')!;
const log = pino({ level: 'silent' });

test("masquerade rules: flanneld's order, cluster traffic kept, multicast excluded, kube-proxy marks skipped", () => {
  const c = masqueradeRules(NET, POD);
  assert.is(c.table, 'nat');
  assert.is(c.from, 'POSTROUTING');
  const text = c.rules.map((r) =>
    r
      .filter(
        (a, i) => a !== 'weft masq' && !(a === '-m' && r[i + 1] === 'comment') && a !== 'comment' && a !== '--comment',
      )
      .join(' '),
  );
  assert.equal(text, [
    '-m mark --mark 0x4000/0x4000 -j RETURN',
    '-s 10.244.1.0/24 -d 10.244.0.0/16 -j RETURN',
    '-s 10.244.0.0/16 -d 10.244.1.0/24 -j RETURN',
    '! -s 10.244.0.0/16 -d 10.244.1.0/24 -j RETURN',
    '-s 10.244.0.0/16 ! -d 224.0.0.0/4 -j MASQUERADE --random-fully',
    '! -s 10.244.0.0/16 -d 10.244.0.0/16 -j MASQUERADE --random-fully',
  ]);
});

test('forward rules accept from and to the cluster network; flags select the chains', () => {
  assert.equal(
    forwardRules(NET).rules.map((r) => `${r[0]} ${r[1]} ${r.at(-1)}`),
    ['-s 10.244.0.0/16 ACCEPT', '-d 10.244.0.0/16 ACCEPT'],
  );
  assert.equal(flannelRuleset(NET, POD, { ipMasq: false, forward: false }), []);
  assert.equal(
    flannelRuleset(NET, POD, { ipMasq: true, forward: false }).map((c) => c.chain),
    ['WEFT-POSTRTG'],
  );
  assert.equal(
    flannelRuleset(NET, POD, { ipMasq: true, forward: true }).map((c) => c.chain),
    ['WEFT-POSTRTG', 'WEFT-FWD'],
  );
});

test('restore text declares each chain (which empties it) and quotes comments', () => {
  const text = restoreText(flannelRuleset(NET, POD, { ipMasq: true, forward: true }));
  assert.match(text, /^\*nat\n:WEFT-POSTRTG - \[0:0\]\n/);
  assert.match(text, /-A WEFT-FWD -s 10\.244\.0\.0\/16 -m comment --comment "weft forward" -j ACCEPT\n/);
  assert.is(text.match(/COMMIT/g)!.length, 2);
});

if (canRunWith('iptables rules in a namespace', ['iptables', 'iptables-restore', 'iptables-save'])) {
  test("iptables port: apply twice = one copy, a new subnet replaces the old rules, others' rules untouched, remove clears", async () => {
    const scope = new LabScope('h8-fw');
    try {
      const ns = await scope.netns('n');
      const save = async () => (await ns.exec(['iptables-save'])).stdout;
      await ns.exec(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.0/16', '-j', 'MASQUERADE']);
      await ns.exec(['iptables', '-P', 'FORWARD', 'DROP']);
      const runner = (argv: readonly string[], input: string) => ns.exec(argv, { input });
      const fw = iptablesFirewall(runner);
      const rs = flannelRuleset(NET, POD, { ipMasq: true, forward: true });
      await fw.apply(log, rs);
      await fw.apply(log, rs);
      let s = await save();
      assert.is(s.match(/-j WEFT-POSTRTG/g)?.length, 1, s);
      assert.is(s.match(/-j WEFT-FWD/g)?.length, 1, s);
      assert.is(s.match(/-A WEFT-POSTRTG /g)?.length, 6, s);
      assert.is(s.match(/-A WEFT-FWD /g)?.length, 2, s);
      const moved = flannelRuleset(NET, tryParseIpv4Prefix('10.244.7.0/24')!, { ipMasq: true, forward: true });
      await fw.apply(log, moved);
      s = await save();
      assert.not.match(s, /10\.244\.1\.0\/24/);
      assert.is(s.match(/10\.244\.7\.0\/24/g)?.length, 3, s);
      await fw.remove(log, moved);
      s = await save();
      assert.not.match(s, /WEFT/);
      assert.match(s, /-A POSTROUTING -s 172\.17\.0\.0\/16 -j MASQUERADE/);
      assert.match(s, /:FORWARD DROP/);
      await fw.remove(log, moved); // already gone: no error
    } finally {
      await scope.cleanup();
    }
  });

  test('iptables port: a resync with nothing changed only reads (one iptables-save per table); lost rules come back', async () => {
    const scope = new LabScope('st-fw');
    try {
      const ns = await scope.netns('n');
      const save = async () => (await ns.exec(['iptables-save'])).stdout;
      const ran: string[] = [];
      const runner = (argv: readonly string[], input: string) => {
        ran.push(argv[0]!);
        return ns.exec(argv, { input });
      };
      const fw = iptablesFirewall(runner);
      const rs = flannelRuleset(NET, POD, { ipMasq: true, forward: true });
      await fw.apply(log, rs);
      const rules = async () => (await save()).replace(/^#.*\n/gm, ''); // without the dated comment lines
      const full = await rules();
      assert.ok(ran.includes('iptables-restore'), ran.join(' '));
      ran.length = 0;
      await fw.apply(log, rs);
      assert.equal(ran, ['iptables-save', 'iptables-save'], 'a resync that finds our rules as written writes nothing');
      assert.is(await rules(), full);
      await ns.exec(['iptables', '-F', 'WEFT-FWD']); // someone flushes our chain
      ran.length = 0;
      await fw.apply(log, rs);
      assert.ok(ran.includes('iptables-restore'), ran.join(' '));
      assert.is((await save()).match(/-A WEFT-FWD /g)?.length, 2);
      const jump = (await save()).split('\n').find((l) => l.endsWith('-j WEFT-POSTRTG'))!;
      await ns.exec(['sh', '-c', `iptables -t nat ${jump.replace(/^-A /, '-D ')}`]); // and deletes our jump
      const s0 = await save();
      assert.not.match(s0, /-j WEFT-POSTRTG/);
      await fw.apply(log, rs);
      const s1 = await save();
      assert.is(s1.match(/-j WEFT-POSTRTG/g)?.length, 1, `${s0}\n---\n${s1}`);
      assert.is(s1.match(/-A WEFT-POSTRTG /g)?.length, 6, s1);
      await fw.remove(log, rs);
      assert.not.match(await save(), /WEFT/);
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
