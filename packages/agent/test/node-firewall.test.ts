// NodeFirewall's lifecycle on a recording FirewallProgrammer: install, rewrite for a new subnet, remove on stop;
// a refusing kernel is logged, never fatal (as flanneld), and nothing is installed when no flag asks for it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import pino from 'pino';
import { tryParseIpv4Prefix } from '@weft/netaddr';
import { NodeFirewall } from '../src/dataplane/node-firewall.ts';
import type { FirewallRuleset } from '../src/firewall.ts';
import type { FirewallProgrammer } from '../src/ports.ts';

const NET = tryParseIpv4Prefix('10.244.0.0/16')!;
const log = pino({ level: 'silent' });

function recorder(fail = false) {
  const calls: string[] = [];
  const describe = (rs: FirewallRuleset) =>
    rs.map((c) => `${c.chain}:${c.rules.map((r) => r.join(' ')).join('|')}`).join(' ');
  const fw: FirewallProgrammer = {
    async apply(_log, rs) {
      calls.push(`apply ${describe(rs)}`);
      if (fail) throw new Error('iptables: not permitted');
    },
    async remove(_log, rs) {
      calls.push(`remove ${rs.map((c) => c.chain).join(' ')}`);
    },
  };
  return { calls, fw };
}

const make = (firewall: FirewallProgrammer | undefined, ipMasq: boolean, forward: boolean) =>
  new NodeFirewall({
    firewall,
    network: NET,
    subnet: tryParseIpv4Prefix('10.244.3.0/24')!,
    ipMasq,
    forward,
    resyncSeconds: 3600,
    log,
  });

test('install, rewrite for a new subnet, remove on stop', async () => {
  const { calls, fw } = recorder();
  const nf = make(fw, true, true);
  assert.is(await nf.start(), true);
  await nf.setSubnet(tryParseIpv4Prefix('10.244.9.0/24')!);
  await nf.stop();
  assert.is(calls.length, 3);
  assert.match(calls[0]!, /^apply WEFT-POSTRTG:.*10\.244\.3\.0\/24.* WEFT-FWD:/);
  assert.match(calls[1]!, /10\.244\.9\.0\/24/);
  assert.not.match(calls[1]!, /10\.244\.3\.0\/24/);
  assert.is(calls[2], 'remove WEFT-POSTRTG WEFT-FWD');
});

test('forward rules only by default; nothing at all when both are off', async () => {
  const only = recorder();
  await make(only.fw, false, true).start();
  assert.match(only.calls[0]!, /^apply WEFT-FWD:/);
  const none = recorder();
  const nf = make(none.fw, false, false);
  assert.is(await nf.start(), true);
  await nf.stop();
  assert.equal(none.calls, []);
});

test('a refusal is not fatal: start reports it, stop still cleans up; no port at all: false', async () => {
  const { calls, fw } = recorder(true);
  const nf = make(fw, true, true);
  assert.is(await nf.start(), false);
  await nf.stop();
  assert.is(calls.at(-1), 'remove WEFT-POSTRTG WEFT-FWD');
  assert.is(await make(undefined, true, true).start(), false);
});

test.run();
