// The `weft` command line as an operator meets it, no root needed: every subcommand's --help exits 0 (here in
// the checkout form; weft-dist.test.ts checks the production form), `weft agent -v`/`--version`, bad flags in
// flanneld's syntax (one line, exit 2), the loud warning of the default embedded store, and READY=1 on a
// NOTIFY_SOCKET this test makes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand, run } from '@weft/lab';
import { parseAgentArgs } from '@weft/agent';
import { weftArgv } from 'weft/lab';
import { main } from '../agent/src/main.ts';
import { notifyReady } from '../agent/src/sd-notify.ts';
import { notifySocket } from './support/notify-socket.ts';

const dir = mkdtempSync(join(tmpdir(), 'h7-cli-'));

/** `weft ARGS` in this process (a spawned weft takes seconds to start here), with its output captured. */
async function weft(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  process.stdout.write = ((chunk: string) => ((out.stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((out.stderr += chunk), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), ...out };
  } finally {
    Object.assign(process.stdout, { write: writes.stdout });
    Object.assign(process.stderr, { write: writes.stderr });
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

test('every subcommand --help exits 0', async () => {
  for (const args of [
    ['--help'],
    ['agent', '--help'],
    ['agent', '-h'],
    ['agent', '-help'],
    ['status', '--help'],
    ['lab', '--help'],
    ['explain', '--help'],
    ['trace', '--help'],
  ]) {
    const r = await weft(args);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stdout.length > 0, args.join(' '));
  }
  const agentHelp = (await weft(['agent', '--help'])).stdout;
  for (const flag of [
    '--etcd-endpoints',
    '--iface-can-reach',
    '--subnet-lease-renew-margin <MINUTES>',
    'FLANNELD_IP_MASQ',
    '--store',
    '--bgp-peer',
  ]) {
    assert.ok(agentHelp.includes(flag), flag);
  }
});

test('weft agent -v and --version print the version (and so does the executable)', async () => {
  for (const flag of ['-v', '--version', '-version']) {
    const r = await weft(['agent', flag]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /^weft \d+\.\d+\.\d+\n$/);
  }
  const spawned = await run(weftArgv('agent', '-v'), { allowFailure: true, timeoutMs: 60_000 });
  assert.is(spawned.code, 0, spawned.stderr);
  assert.match(spawned.stdout, /^weft \d+\.\d+\.\d+\n$/);
});

test('bad flags: one line naming the flag, exit 2', async () => {
  for (const [args, env, field] of [
    [['--ip-masq=perhaps'], {}, '--ip-masq'],
    [['-kube-subnet-mgr'], {}, '--kube-subnet-mgr'],
    [[], { FLANNELD_IPTABLES_FORWARD_RULES: 'nope' }, '--iptables-forward-rules'],
    [['--etcd-endpoints', 'localhost:2379'], {}, '--etcd-endpoints'],
    [['--subnet-lease-renew-margin=x'], {}, '--subnet-lease-renew-margin'],
  ] as [string[], Record<string, string>, string][]) {
    const r = await weft(['agent', ...args], env);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(field), r.stderr);
  }
});

test('the default embedded store is announced loudly', async () => {
  const missing = join(dir, 'no-such-net-conf.json');
  const r = await weft(['agent', '--net-config-path', missing, '--iface', 'lo', '--metrics-port', '0']);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /WARNING: .*embedded store .*other machines will NOT see this node's lease/);
  const quiet = await weft([
    'agent',
    '--net-config-path',
    missing,
    '--iface',
    'lo',
    '--metrics-port',
    '0',
    '--store',
    `embedded:${join(dir, 'x.db')}`,
  ]);
  assert.not.match(quiet.stderr, /WARNING/, 'an explicit --store is a choice, not an accident');
});

test('READY=1 arrives on the NOTIFY_SOCKET; nothing is sent without one', async () => {
  const socket = await notifySocket(dir, 10);
  assert.is(await notifyReady({ ...process.env, NOTIFY_SOCKET: socket.path }), true);
  const messages = await socket.messages;
  assert.ok(
    messages.some((m) => m.split('\n').includes('READY=1')),
    JSON.stringify(messages),
  );
  const env = { ...process.env };
  delete env.NOTIFY_SOCKET;
  assert.is(await notifyReady(env), false);
});

test('the example unit: Type=notify, FLANNELD_* from /etc/default/weft, before docker and kubelet; systemd accepts it', async () => {
  const unit = readFileSync(join(import.meta.dirname, '../agent/examples/weft-agent.service'), 'utf8');
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'EnvironmentFile=-/etc/default/weft',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
  ]) {
    assert.ok(unit.split('\n').includes(line), line);
  }
  assert.match(unit, /^Before=.*\bdocker\.service\b.*\bkubelet\.service\b/m);
  assert.match(unit, /^CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW/m);
  const env = readFileSync(join(import.meta.dirname, '../agent/examples/weft.env'), 'utf8');
  const settings = Object.fromEntries([...env.matchAll(/^(FLANNELD_\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  assert.ok(
    parseAgentArgs([], { hostname: 'n1', env: settings }).ipMasq,
    'the example env file parses, FLANNELD_IP_MASQ=true',
  );
  if (haveCommand('systemd-analyze') && existsSync('/usr/bin/node')) {
    const r = await run(
      ['systemd-analyze', 'verify', '--man=no', join(import.meta.dirname, '../agent/examples/weft-agent.service')],
      { allowFailure: true },
    );
    assert.is(r.code, 0, r.stderr);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
