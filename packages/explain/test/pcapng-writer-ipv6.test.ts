// The capture writer's wire side over the IPv6 underlay, read back by tshark: VXLAN and flannel-udp datagrams
// exchanged with an IPv6 peer get a real IPv6 + UDP outer header (addresses per direction, UDP checksum that
// tshark verifies), IPv4-underlay datagrams in the same file keep their IPv4 header, and the inner packets decode.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { IpProtocol, encodeIpv6Header, ipv6UpperLayerChecksum } from '@weft/encap';
import { parseIpv4, parseIpv6, writeIpv6Bytes } from '@weft/netaddr';
import { TSHARK_CHECK_CHECKSUMS, canRunWith, tsharkFields } from '@weft/lab';
import { CaptureDirection, CaptureSide, PcapngWriter } from '../src/index.ts';
import { icmpEcho, tempDir } from './helpers.ts';

const LOCAL6 = '2001:db8::10';
const PEER6 = '2001:db8::11';

const bytes6 = (a: string): Buffer => {
  const b = Buffer.alloc(16);
  writeIpv6Bytes(parseIpv6(a), b, 0);
  return b;
};

/** An ICMPv6 echo request (RFC 4443 4.1) from `src` to `dst`, checksum filled. */
function echo6(src: string, dst: string, seq: number): Buffer {
  const body = Buffer.from('weft ipv6 capture');
  const b = Buffer.alloc(40 + 8 + body.length);
  const h = { trafficClass: 0, flowLabel: 0, payloadLength: 8 + body.length, hopLimit: 64 };
  encodeIpv6Header({ ...h, nextHeader: IpProtocol.Ipv6Icmp, src: bytes6(src), dst: bytes6(dst) }, b, 0);
  b[40] = 128;
  b.writeUInt16BE(0x4242, 44);
  b.writeUInt16BE(seq, 46);
  body.copy(b, 48);
  b.writeUInt16BE(ipv6UpperLayerChecksum(b, 0, 40, 8 + body.length), 42);
  return b;
}

/** `inner` in VXLAN (VNI 1) and an inner Ethernet header of type IPv6. */
const vxlan6 = (inner: Buffer) =>
  Buffer.concat([
    Buffer.from('0800000000000100', 'hex'),
    Buffer.from('0a5800000601', 'hex'),
    Buffer.from('0a5800000602', 'hex'),
    Buffer.from('86dd', 'hex'),
    inner,
  ]);

/** Three datagrams over the IPv6 underlay (VXLAN out and back, flannel-udp out) and one over IPv4, into `file`. */
function writeDatagrams(file: string): void {
  const peer6 = bytes6(PEER6);
  const w = PcapngWriter.open(file, {
    localAddress: parseIpv4('192.0.2.10'),
    localPort: 8472,
    localAddress6: bytes6(LOCAL6),
  });
  const out = vxlan6(echo6('fd00:10:244:1::5', 'fd00:10:244:2::7', 1));
  const back = vxlan6(echo6('fd00:10:244:2::7', 'fd00:10:244:1::5', 1));
  w.record(CaptureSide.Wire, out, 0, out.length, CaptureDirection.Outbound, 0, 8472, peer6);
  w.record(CaptureSide.Wire, back, 0, back.length, CaptureDirection.Inbound, 0, 8472, peer6);
  const udp = echo6('fd00:10:244:1::5', 'fd00:10:244:2::7', 2); // flannel-udp: the bare inner packet
  w.record(CaptureSide.Wire, udp, 0, udp.length, CaptureDirection.Outbound, 0, 8285, peer6);
  const v4 = icmpEcho('10.244.1.5', '10.244.2.7', 3);
  w.record(CaptureSide.Wire, v4.buf, v4.offset, v4.length, CaptureDirection.Outbound, parseIpv4('192.0.2.11'), 8285);
  w.close();
}

if (canRunWith('the capture writer over the IPv6 underlay, read by tshark', ['tshark'])) {
  test('IPv6 underlay: outer IPv6 + UDP per direction, checksum good, VXLAN and flannel-udp inner IPv6', async () => {
    const dir = tempDir();
    try {
      const file = join(dir, 'v6.pcapng');
      writeDatagrams(file);
      const rows = await tsharkFields(
        file,
        [
          'ip.version',
          'ipv6.src',
          'ipv6.dst',
          'ip.src',
          'ip.dst',
          'udp.dstport',
          'udp.checksum.status',
          'vxlan.vni',
          'icmpv6.type',
          'icmp.type',
        ],
        {
          decodeAs: ['udp.port==8472,vxlan', 'udp.port==8285,ip'],
          prefs: TSHARK_CHECK_CHECKSUMS,
          occurrence: 'a',
        },
      );
      const inner = 'fd00:10:244:1::5';
      const peer = 'fd00:10:244:2::7';
      assert.equal(rows, [
        ['6,6', `${LOCAL6},${inner}`, `${PEER6},${peer}`, '', '', '8472', '1', '1', '128', ''],
        ['6,6', `${PEER6},${peer}`, `${LOCAL6},${inner}`, '', '', '8472', '1', '1', '128', ''],
        ['6,6', `${LOCAL6},${inner}`, `${PEER6},${peer}`, '', '', '8285', '1', '', '128', ''],
        ['4,4', '', '', '192.0.2.10,10.244.1.5', '192.0.2.11,10.244.2.7', '8285', '3', '', '', '8'], // IPv4: checksum 0, "not present"
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
