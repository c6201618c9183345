// The ICMPv6 errors and the packets they quote, read by tshark: it must find every ICMPv6 and UDP checksum good
// (it computes them itself, RFC 8200 section 8.1), and decode type, code, MTU, lengths and addresses as we wrote them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canRunWith, run } from '@weft/lab';
import {
  Icmpv6Type,
  Icmpv6UnreachableCode,
  buildIcmpv6DestUnreachable,
  buildIcmpv6PacketTooBig,
} from '../src/index.ts';
import { NODE, POD_A, POD_B, icmp6, rawPcap, udp6 } from './icmpv6-support.ts';

function packets(): Buffer[] {
  const udp = udp6(POD_A, POD_B, Buffer.from('weft: no route to this pod'));
  const chain = Buffer.from([0, 60, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop, dst options
  const udpBehindChain = udp6(POD_A, POD_B, Buffer.alloc(333, 0x61), chain.subarray(1), 0);
  const big = udp6(POD_A, POD_B, Buffer.alloc(1452, 0x62));
  const echo = icmp6(POD_A, POD_B, Icmpv6Type.EchoRequest, 0, Buffer.from('4242000177656674', 'hex'));
  const error = (f: (out: Buffer) => number) => {
    const out = Buffer.alloc(1280);
    return out.subarray(0, f(out));
  };
  return [
    udp,
    error((o) => buildIcmpv6DestUnreachable(udp, 0, udp.length, Icmpv6UnreachableCode.NoRoute, NODE, o, 0)),
    udpBehindChain,
    error((o) =>
      buildIcmpv6DestUnreachable(udpBehindChain, 0, udpBehindChain.length, Icmpv6UnreachableCode.Address, NODE, o, 0),
    ),
    big,
    error((o) => buildIcmpv6PacketTooBig(big, 0, big.length, 1430, NODE, o, 0)),
    echo,
    error((o) => buildIcmpv6PacketTooBig(echo, 0, echo.length, 1280, NODE, o, 0, { hopLimit: 8 })),
  ];
}

const FIELDS = [
  'ipv6.plen',
  'ipv6.hlim',
  'ipv6.src',
  'ipv6.dst',
  'icmpv6.type',
  'icmpv6.code',
  'icmpv6.mtu',
  'icmpv6.checksum.status',
  'udp.checksum.status',
];

if (canRunWith('ICMPv6 errors read by tshark', ['tshark'])) {
  test('tshark verifies every checksum and reads the fields we wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'v6p-'));
    try {
      const pkts = packets();
      assert.ok(
        pkts.every((p) => p.length > 0),
        'every error was built',
      );
      const file = join(dir, 'icmpv6.pcap');
      writeFileSync(file, rawPcap(pkts));
      const argv = ['tshark', '-r', file, '-o', 'udp.check_checksum:TRUE', '-T', 'fields', '-E', 'occurrence=a'];
      const r = await run([...argv, '-E', 'aggregator=;', ...FIELDS.flatMap((f) => ['-e', f])], { timeoutMs: 30_000 });
      const rows = r.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      assert.is(rows.length, pkts.length);
      const row = (i: number) => Object.fromEntries(FIELDS.map((f, k) => [f, rows[i]![k]!]));
      // Errors (odd rows): outer then quoted headers, ';'-joined in order.
      assert.equal(row(1), {
        'ipv6.plen': `${8 + pkts[0]!.length};${pkts[0]!.length - 40}`,
        'ipv6.hlim': '64;64',
        'ipv6.src': `fd00:10:244:1::;${POD_A}`,
        'ipv6.dst': `${POD_A};${POD_B}`,
        'icmpv6.type': '1',
        'icmpv6.code': '0',
        'icmpv6.mtu': '',
        'icmpv6.checksum.status': '1',
        'udp.checksum.status': '1',
      });
      assert.equal([row(3)['icmpv6.code'], row(3)['udp.checksum.status']], ['3', '1']);
      assert.equal([row(5)['ipv6.plen'], row(5)['icmpv6.type'], row(5)['icmpv6.mtu']], ['1240;1460', '2', '1430']);
      assert.equal(row(7)['icmpv6.type'], '2;128', 'PTB about an echo request: both ICMPv6 headers');
      assert.equal(row(7)['icmpv6.checksum.status'], '1;2', 'ours good; tshark leaves a quoted ICMPv6 unverified');
      assert.equal(row(7)['ipv6.hlim'], '8;64');
      for (const i of [0, 2, 4]) assert.is(row(i)['udp.checksum.status'], '1', `packet ${i + 1}: our UDP checksum`);
      assert.is(row(6)['icmpv6.checksum.status'], '1', 'the echo request');
      const bad = Buffer.from(pkts[1]!);
      bad[60] ^= 1; // one bit in the quoted packet
      writeFileSync(file, rawPcap([bad]));
      const r2 = await run([...argv, '-e', 'icmpv6.checksum.status'], { timeoutMs: 30_000 });
      assert.is(r2.stdout.trim().split(',')[0], '0', 'tshark does check: a flipped bit is a bad checksum');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
