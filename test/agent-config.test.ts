// `weft agent` with bad configuration: one clear line naming the field and what was expected, exit code 2, and
// nothing created (no store file, no device). Runs unprivileged: the agent stops before it needs root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@weft/lab';
import { weftArgv } from 'weft/lab';

const dir = mkdtempSync(join(tmpdir(), 'weft-agent-config-'));
const db = join(dir, 'leases.db');

async function agentWith(netConf: string | null, extra: string[] = []): Promise<{ code: number; stderr: string }> {
  const file = join(dir, 'net-conf.json');
  if (netConf !== null) writeFileSync(file, netConf);
  const args = [
    'agent',
    '--net-config',
    file,
    '--iface',
    'lo',
    '--public-ip',
    '127.0.0.1',
    '--store',
    `embedded:${db}`,
    '--subnet-file',
    join(dir, 'subnet.env'),
    '--metrics-port',
    '0',
    '--node-name',
    'cfg-test',
    ...extra,
  ];
  const r = await run(weftArgv(...args), { allowFailure: true, timeoutMs: 30_000 });
  return { code: r.code, stderr: r.stderr };
}

const cases: [string, string, RegExp][] = [
  ['missing Network', '{"Backend":{"Type":"vxlan"}}', /Network/],
  ['SubnetLen out of range', '{"Network":"10.244.0.0/16","SubnetLen":31,"Backend":{"Type":"udp"}}', /SubnetLen/],
  ['SubnetLen not longer than the network', '{"Network":"10.244.0.0/16","SubnetLen":16}', /SubnetLen/],
  ['unknown backend', '{"Network":"10.244.0.0/16","Backend":{"Type":"ipsec"}}', /Backend\.Type.*(udp|vxlan|native)/],
  ['inverted range', '{"Network":"10.244.0.0/16","SubnetMin":"10.244.9.0","SubnetMax":"10.244.2.0"}', /SubnetM(in|ax)/],
  ['range outside the network', '{"Network":"10.244.0.0/16","SubnetMin":"10.245.1.0"}', /SubnetMin/],
  ['VNI out of range', '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan","VNI":16777216}}', /VNI/],
  ['not JSON', '{"Network": "10.244.0.0/16",', /json.*line 1/i],
];

for (const [name, json, field] of cases) {
  test(`bad net-conf: ${name} -> exit 2 naming the field`, async () => {
    rmSync(db, { force: true });
    const r = await agentWith(json);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, /bad configuration/);
    assert.match(r.stderr, field);
    assert.is(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.not.ok(existsSync(db), 'no store was opened');
  });
}

test('bad flags -> exit 2 naming the flag', async () => {
  const good = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
  for (const [flags, field] of [
    [['--store', 'redis://x'], /--store/],
    [['--public-ip', '300.1.1.1'], /--public-ip/],
    [['--metrics-port', '70000'], /--metrics-port/],
    [['--route-sync', 'ospf'], /--route-sync/],
    [['--bgp-peer', '192.0.2.1'], /--bgp-peer/],
    [['--no-such-flag'], /--no-such-flag/],
  ] as [string[], RegExp][]) {
    const r = await agentWith(good, flags);
    assert.is(r.code, 2, `${flags.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, field);
  }
});

test('a missing net-conf file -> exit 2', async () => {
  rmSync(join(dir, 'net-conf.json'), { force: true });
  const r = await agentWith(null);
  assert.is(r.code, 2);
  assert.match(r.stderr, /--net-config: cannot read/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
