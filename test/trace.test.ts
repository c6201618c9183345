// `weft trace` on labs made by `weft lab up` (vxlan and udp with captures, native without): the hop lines name the
// right subnets, peer, VTEP MAC and bytes added, and the reply is seen on the way back. Then the agents' pcapng
// files, closed by `weft lab down`, open in tshark without a word on stderr and hold both interfaces and the
// ping's request and reply on both sides. In dual-stack labs (native, vxlan) `weft trace --ipv6` follows the IPv6 ping:
// IPv6 subnets, routes via the peers' IPv6 underlay addresses, and (vxlan) 70 bytes added over the IPv6 underlay.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run, canRunWith, Netns } from '@weft/lab';
import { weftArgv, httpGetIn, METRICS_PORT } from 'weft/lab';

const weft = (...args: string[]) => run(weftArgv(...args), { allowFailure: true, timeoutMs: 120_000 });

interface UpNode {
  name: string;
  namespace: string;
  underlayIp: string;
  underlayIp6?: string;
  subnet: string;
  subnet6?: string;
  pods: { ip: string; ip6?: string }[];
}

async function labUp(name: string, backend: string, pcapDir?: string, ...more: string[]): Promise<UpNode[]> {
  const up = await weft(
    'lab',
    'up',
    '--name',
    name,
    '--nodes',
    '2',
    '--backend',
    backend,
    ...(pcapDir ? ['--pcap', pcapDir] : []),
    ...more,
  );
  assert.is(up.code, 0, up.stderr);
  return (JSON.parse(up.stdout) as { nodes: UpNode[] }).nodes;
}

async function vtepMac(node: UpNode): Promise<string> {
  const body = await httpGetIn(new Netns(node.namespace), `http://127.0.0.1:${METRICS_PORT}/status`);
  return (JSON.parse(body ?? '{}') as { lease?: { vtepMac?: string } }).lease?.vtepMac ?? 'none';
}

/** Lines of the request part (before "reply") and the reply part. */
function split(out: string): { request: string; reply: string; result: string } {
  const [head, rest = ''] = out.split('\nreply (echo reply):\n');
  const [reply = '', result = ''] = rest.split('\nresult: ');
  return { request: head!, reply, result };
}

const line = (text: string, hop: string) => text.split('\n').find((l) => l.includes(hop)) ?? `(no "${hop}" line)`;
const lastLine = (text: string, hop: string) =>
  text.split('\n').findLast((l) => l.includes(hop)) ?? `(no "${hop}" line)`;

/** tshark as an unprivileged user (as root it always prints a notice): frame interface, ip.src/dst and ICMP type per packet. */
async function tsharkRows(file: string, home: string): Promise<{ code: number; stderr: string; rows: string[][] }> {
  const r = await run(
    [
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      'tshark',
      '-r',
      file,
      '-d',
      'udp.port==8472,vxlan',
      '-d',
      'udp.port==8285,ip',
      '-Y',
      'icmp',
      '-T',
      'fields',
      '-e',
      'frame.interface_id',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'icmp.type',
    ],
    { allowFailure: true, env: { ...process.env, HOME: home }, timeoutMs: 30_000 },
  );
  return {
    code: r.code,
    stderr: r.stderr,
    rows: r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t')),
  };
}

if (canRunWith('weft trace in labs', ['tshark', 'tcpdump', 'setpriv'])) {
  for (const [backend, added, port] of [
    ['vxlan', 50, 8472],
    ['udp', 28, 8285],
  ] as const) {
    test(`${backend}: trace names subnets, peer and bytes added; the captures open in tshark with both sides`, async () => {
      const name = `trc${backend.slice(0, 2)}`;
      const dir = mkdtempSync(join(tmpdir(), 'trc-'));
      chmodSync(dir, 0o755);
      let down = false;
      try {
        const [n1, n2] = (await labUp(name, backend, dir)) as [UpNode, UpNode];
        const mac2 = await vtepMac(n2);
        const mac1 = await vtepMac(n1);
        const t = await weft('trace', 'n1p1', 'n2p1', '--lab', name);
        assert.is(t.code, 0, t.stdout + t.stderr);
        const { request, reply, result } = split(t.stdout);
        assert.ok(request.includes(`subnet ${n1.subnet}`) && request.includes(`subnet ${n2.subnet}`), request);
        assert.match(line(request, 'kernel route'), /dev flannel0/);
        assert.match(line(request, 'flannel0 (TUN)'), /weft read 84 bytes from the TUN \(tx_packets \+[1-9]/);
        const decision = line(request, 'forwarding decision');
        assert.ok(decision.includes(`${n2.subnet} -> peer ${n2.underlayIp}`), decision);
        assert.ok(decision.includes(`lease ${n2.subnet} of n2`), decision);
        if (backend === 'vxlan') assert.ok(decision.includes(`VTEP MAC ${mac2}`), `${decision} / ${mac2}`);
        else assert.not.ok(decision.includes('VTEP'), decision);
        assert.match(line(request, 'bytes added'), new RegExp(`bytes added\\s+${added}, measured`));
        assert.ok(
          line(request, 'underlay').includes(`${n1.underlayIp} -> ${n2.underlayIp}, UDP to port ${port}`),
          request,
        );
        if (backend === 'vxlan') assert.match(line(request, 'underlay'), /VNI 1, 134 bytes/);
        assert.match(
          line(request, 'UDP socket'),
          new RegExp(`from peer ${n1.underlayIp.replace(/\./g, '\\.')}: decapsulated, ${84 + added} bytes`),
        );
        const back = line(reply, 'forwarding decision');
        assert.ok(back.includes(`${n1.subnet} -> peer ${n1.underlayIp}`), back);
        if (backend === 'vxlan') assert.ok(back.includes(`VTEP MAC ${mac1}`), back);
        assert.match(line(reply, 'bytes added'), new RegExp(`bytes added\\s+${added}, measured`));
        assert.match(
          lastLine(reply, 'kernel route'),
          new RegExp(`${n1.pods[0]!.ip.replace(/\./g, '\\.')} dev cni0 .* -> n1p1 eth0`),
        );
        assert.match(result, /^reply received/);
        assert.match(result, /reply seen on the way back at: n2 tun \w+, n2 wire outbound, n1 wire inbound, n1 tun/);

        const d = await weft('lab', 'down', name); // SIGTERM: the agents close their captures
        down = true;
        assert.is(d.code, 0, d.stderr);
        const files = readdirSync(dir)
          .filter((f) => f.endsWith('.pcapng'))
          .sort();
        assert.equal(files, ['n1.pcapng', 'n2.pcapng']);
        for (const f of files) {
          chmodSync(join(dir, f), 0o644);
          const r = await tsharkRows(join(dir, f), dir);
          assert.is(r.code, 0, r.stderr);
          assert.is(r.stderr, '', `tshark -r ${f} prints no warning`);
          const [a, b] = [n1.pods[0]!.ip, n2.pods[0]!.ip];
          const has = (iface: string, src: string, dst: string, type: string) =>
            r.rows.some(
              ([i, s, ds, ty]) =>
                i === iface && s!.split(',').at(-1) === src && ds!.split(',').at(-1) === dst && ty === type,
            );
          for (const iface of ['0', '1']) {
            assert.ok(has(iface, a, b, '8'), `${f} interface ${iface}: echo request ${a} > ${b}\n${r.rows.join('\n')}`);
            assert.ok(has(iface, b, a, '0'), `${f} interface ${iface}: echo reply ${b} > ${a}`);
          }
          const plain = await run(
            ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', 'tshark', '-r', join(dir, f)],
            { allowFailure: true, env: { ...process.env, HOME: dir } },
          );
          assert.is(plain.code, 0);
          assert.is(plain.stderr, '', `plain tshark -r ${f}: nothing on stderr`);
          const outer = r.rows.filter(([i]) => i === '1').map(([, s]) => s!.split(',')[0]);
          assert.ok(
            outer.includes(n1.underlayIp) && outer.includes(n2.underlayIp),
            `${f}: wire side has outer headers both ways`,
          );
        }
      } finally {
        if (!down) await weft('lab', 'down', name);
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('a lab without captures: routes and counters, header sizes, and a note that captures give more', async () => {
    const name = 'trcnc';
    try {
      const [, n2] = (await labUp(name, 'vxlan')) as [UpNode, UpNode];
      const t = await weft('trace', 'n1p1', 'n2p1', '--lab', name);
      assert.is(t.code, 0, t.stdout + t.stderr);
      assert.match(t.stdout, /routes and counters only: this lab has no captures; `weft lab up --pcap DIR`/);
      const { request, result } = split(t.stdout);
      assert.match(line(request, 'flannel0 (TUN)'), /weft read the packet from the TUN \(tx_packets \+[1-9]/);
      assert.ok(line(request, 'forwarding decision').includes(`VTEP MAC ${await vtepMac(n2)}`), request);
      assert.match(line(request, 'bytes added'), /bytes added\s+50, from header sizes/);
      assert.match(line(request, 'UDP socket'), /decapsulated \(rx_packets \+[1-9]/);
      assert.match(
        result,
        /^reply received .*; reply counted on the way back: n2 tx_packets \+[1-9]\d*, n1 rx_packets \+[1-9]/,
      );
      const bad = await weft('trace', 'n1p1', 'n9p9', '--lab', name);
      assert.is(bad.code, 2);
      assert.match(bad.stderr, /no pod "n9p9"/);
    } finally {
      await weft('lab', 'down', name);
    }
  });

  test('native: kernel route hops via the peer underlay address, nothing added, the bare packet on eth0', async () => {
    const name = 'trcna';
    try {
      const [n1, n2] = (await labUp(name, 'native')) as [UpNode, UpNode];
      const t = await weft('trace', 'n1p1', 'n2p1', '--lab', name);
      assert.is(t.code, 0, t.stdout + t.stderr);
      const { request, reply, result } = split(t.stdout);
      assert.not.ok(request.includes('flannel0'), 'no TUN in native mode');
      assert.ok(line(request, 'kernel route').includes(`${n2.pods[0]!.ip} via ${n2.underlayIp} dev eth0`), request);
      assert.ok(line(request, 'forwarding decision').includes(`${n2.subnet} -> peer ${n2.underlayIp}`), request);
      assert.match(line(request, 'bytes added'), /bytes added\s+0,/);
      assert.ok(
        line(request, 'underlay').includes(`${n1.pods[0]!.ip} -> ${n2.pods[0]!.ip}, the pod packet itself`),
        request,
      );
      assert.ok(line(reply, 'kernel route').includes(`${n1.pods[0]!.ip} via ${n1.underlayIp} dev eth0`), reply);
      assert.ok(
        line(reply, 'underlay').includes(`${n2.pods[0]!.ip} -> ${n1.pods[0]!.ip}, the pod packet itself`),
        reply,
      );
      assert.match(result, /^reply received.*reply seen on the way back at: n1 eth0/);
    } finally {
      await weft('lab', 'down', name);
    }
  });

  test('dual-stack native: --ipv6 follows the IPv6 ping via the peer IPv6 underlay address', async () => {
    const name = 'v6b-trn';
    try {
      const [n1, n2] = (await labUp(name, 'native', undefined, '--dual-stack')) as [UpNode, UpNode];
      const [a, b] = [n1.pods[0]!.ip6!, n2.pods[0]!.ip6!];
      assert.ok(a && b && n1.underlayIp6 && n2.subnet6, 'the lab gives pods and nodes IPv6');
      const t = await weft('trace', 'n1p1', 'n2p1', '--lab', name, '--ipv6', '--json');
      assert.is(t.code, 0, t.stdout + t.stderr);
      const j = JSON.parse(t.stdout) as { lines: string[]; family: number; bytesAdded: number };
      assert.is(j.family, 6);
      assert.is(j.bytesAdded, 0);
      const { request, reply, result } = split(j.lines.join('\n'));
      assert.ok(request.startsWith(`trace n1p1 (${a} on n1, subnet ${n1.subnet6}) -> n2p1 (${b} on n2`), request);
      assert.ok(line(request, 'kernel route').includes(`${b} via ${n2.underlayIp6} dev eth0`), request);
      assert.ok(line(request, 'forwarding decision').includes(`${n2.subnet6} -> peer ${n2.underlayIp6}`), request);
      assert.ok(line(request, 'forwarding decision').includes(`lease ${n2.subnet6} of n2`), request);
      assert.ok(line(request, 'underlay').includes(`${a} -> ${b}, the pod packet itself`), request);
      assert.ok(line(reply, 'kernel route').includes(`${a} via ${n1.underlayIp6} dev eth0`), reply);
      assert.ok(line(reply, 'underlay').includes(`${b} -> ${a}, the pod packet itself`), reply);
      assert.match(result, /^reply received.*reply seen on the way back at: n1 eth0/);
      // Named by its IPv6 address, the pod is pinged over IPv6 without the flag; IPv4 stays the default.
      const byAddr = await weft('trace', 'n1p1', b, '--lab', name, '--json');
      assert.is((JSON.parse(byAddr.stdout) as { family: number }).family, 6, byAddr.stderr);
      const v4 = await weft('trace', 'n1p1', 'n2p1', '--lab', name, '--json');
      assert.is((JSON.parse(v4.stdout) as { family: number }).family, 4, v4.stderr);
    } finally {
      await weft('lab', 'down', name);
    }
  });

  test('dual-stack vxlan: --ipv6 measures 70 bytes added over the IPv6 underlay (TUN capture, eth0 tcpdump)', async () => {
    const name = 'v6b-trv';
    const dir = mkdtempSync(join(tmpdir(), 'trc6-'));
    chmodSync(dir, 0o755);
    try {
      const [n1, n2] = (await labUp(name, 'vxlan', dir, '--dual-stack')) as [UpNode, UpNode];
      const [a, b] = [n1.pods[0]!.ip6!, n2.pods[0]!.ip6!];
      const t = await weft('trace', 'n1p1', 'n2p1', '--lab', name, '--ipv6');
      assert.is(t.code, 0, t.stdout + t.stderr);
      const { request, reply, result } = split(t.stdout);
      assert.match(
        t.stdout,
        /evidence: routes, counters, the agents' TUN captures .* and a tcpdump on the source node eth0/,
      );
      assert.match(line(request, 'kernel route'), /dev flannel0/);
      // 64 bytes of ICMPv6 echo behind a 40-byte IPv6 header, read from flannel0.
      assert.match(line(request, 'flannel0 (TUN)'), /weft read 104 bytes from the TUN \(tx_packets \+[1-9]/);
      const decision = line(request, 'forwarding decision');
      assert.ok(decision.includes(`${n2.subnet6} -> peer ${n2.underlayIp6}`), decision);
      assert.match(decision, /VTEP MAC [0-9a-f:]{17}/);
      assert.match(
        line(request, 'bytes added'),
        /bytes added\s+70, measured: eth0 minus TUN length \(VXLAN header 8 \+ inner Ethernet 14 written by weft, UDP 8 \+ IPv6 40/,
      );
      assert.ok(
        line(request, 'n1 eth0 -> n2 eth0').includes(
          `${n1.underlayIp6} -> ${n2.underlayIp6}, UDP to port 8472, VNI 1, 188 bytes captured on eth0`,
        ),
        request,
      );
      assert.match(line(request, 'UDP socket'), /decapsulated, 174 bytes captured on "eth0"/);
      assert.ok(line(reply, 'forwarding decision').includes(`${n1.subnet6} -> peer ${n1.underlayIp6}`), reply);
      assert.match(line(reply, 'bytes added'), /bytes added\s+70, measured/);
      assert.ok(lastLine(reply, 'kernel route').includes(`${a} dev cni0`), reply);
      assert.match(result, /^reply received.*reply seen on the way back at: .*n1 eth0/);
      assert.ok(request.includes(b));
    } finally {
      await weft('lab', 'down', name);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
