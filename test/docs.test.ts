// `npm run docs` still runs: it brings up its labs, writes every lesson into a temporary directory, and tears the
// labs down. The lessons hold this run's values, and the sources agree with each other: the subnets in the lab
// table are the ones in the trace and in the bytes of the captured packets, the VNI and bytes added are the
// backend's, the BGP UPDATE announces the node's own subnet; in the control-plane lesson the etcd key, subnet.env,
// host-local's reservation and the CNI result agree with the lab table, and the masquerade rule counted the ping out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run, canRunWith, listLabNamespaces } from '@weft/lab';
import { checkDualStack } from './support/dual-stack-doc.ts';

const PREFIX = 'doct';

/** Row `node` of the lessons' lab table: [node, underlay, subnet, pod, VTEP MAC, MTU]. */
function labRow(md: string, node: string): string[] {
  const row = md.split('\n').find((l) => l.startsWith(`| ${node} | 192.0.2.`));
  assert.ok(row, `lab table row for ${node}`);
  return row!
    .split('|')
    .slice(1, -1)
    .map((c) => c.trim());
}

/** "10.244.7.2" as it appears in a hex dump: "0a f4 07 02". */
const hexOf = (ip: string) =>
  ip
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join(' ');

function checkOverlay(md: string, vni: boolean, added: number, port: number): void {
  const [, , subnet2, pod2] = labRow(md, 'n2');
  const [, , subnet1] = labRow(md, 'n1');
  const podIp = pod2!.split(' ')[1]!;
  assert.match(subnet2!, /^10\.244\.\d+\.0\/24$/);
  assert.ok(
    md.includes(`forwarding decision    ${subnet2} -> peer 192.0.2.12`),
    'the trace names the lab table subnet',
  );
  assert.ok(md.includes(`| n1 | ${subnet2} | 192.0.2.12 |`), 'n1 forwards n2 subnet to n2');
  assert.ok(md.includes(`| n2 | ${subnet1} | 192.0.2.11 |`));
  assert.ok(md.includes(`bytes added            ${added}, measured`));
  assert.match(md, new RegExp(`= \\*\\*${added}\\*\\*`));
  assert.match(md, new RegExp(`udp\\.dstport\\s+${port}\\s`));
  assert.ok(md.includes(hexOf(podIp).slice(0, 8)), 'the hex dump holds the pod address of this run');
  if (vni) {
    assert.match(md, /vxlan\.vni\s+1\s/);
    const mac2 = labRow(md, 'n2')[4]!;
    assert.match(mac2, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.match(
      md,
      new RegExp(`eth\\.dst\\s+${mac2}`),
      'the inner Ethernet destination is n2 VTEP MAC from its lease',
    );
  }
}

/** The control-plane lesson's sources agree: etcd key, subnet.env, the CNI result and reservation, the masquerade. */
function checkControlPlane(md: string): void {
  const row = md.split('\n').find((l) => l.startsWith('| n1 | 192.0.2.11 |'));
  assert.ok(row, 'lab table row for n1');
  const subnet = row!.split('|')[3]!.trim();
  assert.match(subnet, /^10\.244\.\d+\.0\/24$/);
  const base = subnet.replace(/\.0\/24$/, '');
  assert.ok(md.includes(`| /coreos.com/network/subnets/${base}.0-24 | `), "n1's key in etcd names its subnet");
  assert.ok(md.includes('"PublicIP":"192.0.2.11","BackendType":"vxlan"'), "the key's value is flannel's lease attrs");
  assert.match(md, /granted with TTL\(86400s\)/, 'etcdctl lease timetolive: flannel 24 h');
  assert.ok(md.includes(`FLANNEL_SUBNET=${base}.1/24`), 'subnet.env holds the lease and its first address');
  assert.ok(md.includes('FLANNEL_IPMASQ=true'));
  const result = /"address": "([\d.]+)\/24"/.exec(md);
  assert.ok(result && result[1]!.startsWith(`${base}.`), `the CNI result's address is in n1's lease: ${result?.[1]}`);
  assert.ok(md.includes(`/ipam/cbr0/${result![1]} | n1c1`), "host-local's reservation file names the container");
  assert.match(md, /"ipMasq": false/, 'the agent masquerades, so bridge does not');
  const renewals = md.split('\n').filter((l) => /^\| \d+ \| [0-9a-f]+ \| \d+ \|$/.test(l));
  assert.ok(new Set(renewals.map((l) => l.split('|')[2])).size >= 2, 'the short-TTL lease was renewed (new lease ID)');
  assert.match(md, /-A WEFT-POSTRTG -s 10\.244\.0\.0\/16 ! -d 224\.0\.0\.0\/4 .*-j MASQUERADE/);
  assert.match(
    md,
    /\n\s+[1-9]\d*\s+\d+ MASQUERADE .* 10\.244\.0\.0\/16\s+!224\.0\.0\.0\/4/,
    'the masquerade counted the ping out',
  );
}

if (canRunWith('npm run docs', ['tcpdump', 'npm', 'etcd', 'iptables-save', '/usr/lib/cni/bridge'])) {
  test('npm run docs writes every lesson from live labs and removes them', async () => {
    const out = mkdtempSync(join(tmpdir(), 'doct-'));
    try {
      const r = await run(['npm', 'run', '--silent', 'docs', '--', '--out', out, '--lab-prefix', PREFIX], {
        allowFailure: true,
        timeoutMs: 600_000,
      });
      assert.is(r.code, 0, r.stderr.slice(-3000));
      assert.equal(readdirSync(out).sort(), [
        'README.md',
        'bgp-sessions.md',
        'control-plane.md',
        'dual-stack.md',
        'native-bgp.md',
        'native.md',
        'udp.md',
        'vxlan.md',
      ]);
      const md = (f: string) => readFileSync(join(out, f), 'utf8');
      for (const f of readdirSync(out)) {
        assert.match(
          md(f).split('\n').slice(0, 6).join('\n'),
          /To regenerate.*`npm run docs`/s,
          `${f}: how to regenerate at the top`,
        );
      }
      checkOverlay(md('vxlan.md'), true, 50, 8472);
      checkOverlay(md('udp.md'), false, 28, 8285);
      const native = md('native.md');
      const [, , subnet2] = labRow(native, 'n2');
      assert.ok(
        native.includes(`${subnet2} via 192.0.2.12 dev eth0`),
        'the kernel route to n2 subnet goes via its underlay address',
      );
      assert.match(native, /bytes added\s+0,/);
      assert.match(native, /ip\.ttl\s+63\s/, 'the bare pod packet on eth0, one hop routed');
      const bgp = md('bgp-sessions.md');
      const [, , bgpSubnet2] = labRow(md('native-bgp.md'), 'n2');
      for (const kind of ['OPEN', 'KEEPALIVE', 'UPDATE', 'NOTIFICATION'])
        assert.match(bgp, new RegExp(`\\| 192\\.0\\.2\\.1[12] \\| 192\\.0\\.2\\.1[12] \\| BGP ${kind}`));
      assert.ok(
        bgp.includes(`BGP UPDATE: ${bgpSubnet2} via 192.0.2.12`),
        'n2 announces its own subnet with itself as next hop',
      );
      assert.match(bgp, /BGP NOTIFICATION: Cease/);
      assert.match(bgp, /\| n1 \| 192\.0\.2\.12 \| 64512 \| Established \| 1 \|/);
      assert.match(md('README.md'), /\[The vxlan backend.*\]\(vxlan\.md\)/);
      assert.match(md('README.md'), /\[The control plane.*\]\(control-plane\.md\)/);
      checkControlPlane(md('control-plane.md'));
      checkDualStack(md('dual-stack.md'));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    for (const lab of ['udp', 'vx', 'nat', 'bgp', 'ctl', 'ds'])
      assert.equal(await listLabNamespaces(`${PREFIX}${lab}`), [], `lab ${PREFIX}${lab} removed`);
  });
}

test.run();
