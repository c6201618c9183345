// A start that fails part way closes what it opened: the super-packet TAPs are opened before flannel0, the
// sockets after it, so a failure at either step used to leave the TAPs (and flannel0) open, and a second start in
// the same process found weft-gso0/weft-gso6 busy. The routes are left alone: flannel0 may be another process's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpv6Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import { ChannelNetwork, ChannelTun, type TapSenderOptions } from '@weft/tunnel';
import { createLogger } from '../src/index.ts';
import { vxlanFormat } from '../src/backends/formats.ts';
import { OverlayNetwork } from '../src/backends/overlay.ts';
import type { AgentPorts } from '../src/ports.ts';
import { RecordingLink } from './support/fake-node.ts';
import { NullTap } from './support/null-tap.ts';

/** Ports whose TAPs open, and whose TUN or underlay socket fails as `failAt` says. */
function ports(failAt: 'tun' | 'udp') {
  const taps: NullTap[] = [];
  const tuns: ChannelTun[] = [];
  const link = new RecordingLink('192.0.2.1');
  const net = new ChannelNetwork();
  const p: AgentPorts = {
    openSuperPacketSender: async (o: TapSenderOptions) => {
      const tap = new NullTap(o);
      taps.push(tap);
      return tap;
    },
    openTun: (t) => {
      if (failAt === 'tun') throw new Error('flannel0: device busy (scripted)');
      const tun = new ChannelTun({ batchSize: t.batchSize });
      tuns.push(tun);
      return tun;
    },
    openUdp: (u) => {
      if (failAt === 'udp') throw new Error(`${u.address}:${u.port}: address not available (scripted)`);
      return net.bind(u.address, u.port);
    },
    link,
  };
  return { ports: p, taps, tuns, link };
}

function overlay(p: AgentPorts): OverlayNetwork {
  return new OverlayNetwork({
    log: createLogger({ level: 'silent' }),
    ports: p,
    format: vxlanFormat({ vni: 1, localMac: '02:00:00:00:00:01', vtepAddress: 0, localMacV6: '02:00:00:00:00:02' }),
    network: tryParseIpv4Prefix('10.244.0.0/16')!,
    subnet: tryParseIpv4Prefix('10.244.1.0/24')!,
    publicIp: '192.0.2.1',
    underlayMtu: 1500,
    offloads: true,
    ipv6: {
      network: parseIpv6Prefix('fd00:10:244::/56'),
      subnet: parseIpv6Prefix('fd00:10:244:1::/64'),
      publicIp: '2001:db8::1',
    },
  });
}

for (const failAt of ['tun', 'udp'] as const) {
  test(`a start failing at the ${failAt === 'tun' ? 'TUN device' : 'underlay socket'} closes both TAPs${failAt === 'udp' ? ' and flannel0' : ''}, deletes no route`, async () => {
    const p = ports(failAt);
    const network = overlay(p.ports);
    const err = await network.start().then(
      () => null,
      (e: Error) => e,
    );
    assert.match(String(err?.message), /scripted/, 'start() rejects with the failing step');
    assert.equal(
      p.taps.map((t) => t.opts.name),
      ['weft-gso0', 'weft-gso6'],
      'both super-packet paths were open before the failure',
    );
    assert.ok(
      p.taps.every((t) => t.closed > 0),
      `closed: ${p.taps.map((t) => `${t.opts.name} ${t.closed}`).join(', ')}`,
    );
    assert.ok(
      p.tuns.every((t) => t.closed),
      'flannel0 closed',
    );
    assert.is(p.tuns.length, failAt === 'udp' ? 1 : 0);
    assert.not.ok(
      p.link.lines.some((l) => l.startsWith('route del')),
      'no route deleted',
    );
  });
}

test.run();
