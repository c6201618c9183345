// chooseSendPath per underlay family, on scripted ports: an IPv4 address opens weft-gso0 and an IPv6 one weft-gso6,
// each with the format's own bytes (overhead minus outer IP + UDP: 28 for IPv4, 48 for IPv6); a TAP that cannot
// open (TunnelGsoUnavailableError) leaves that family on the socket path with the reason logged and returned,
// without touching the other family's decision.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import pino from 'pino';
import { TunnelGsoUnavailableError, type TapSenderOptions } from '@weft/tunnel';
import { chooseSendPath } from '../src/backends/send-path.ts';
import type { AgentPorts, SuperPacketPort } from '../src/ports.ts';
import { NullTap } from './support/null-tap.ts';

/** Ports whose TAP opens for the families in `open` and throws TunnelGsoUnavailableError for the others. */
function ports(open: (4 | 6)[]): { ports: AgentPorts; opened: TapSenderOptions[] } {
  const opened: TapSenderOptions[] = [];
  const openSuperPacketSender = async (o: TapSenderOptions): Promise<SuperPacketPort> => {
    if (!open.includes(o.source.includes(':') ? 6 : 4))
      throw new TunnelGsoUnavailableError('no IPv6 forwarding here (scripted)', 'EINVAL');
    opened.push(o);
    return new NullTap(o);
  };
  return { ports: { openSuperPacketSender } as unknown as AgentPorts, opened };
}

function logger(): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines };
}

const VXLAN = { overhead: 50, overheadV6: 70 };

test('IPv4 and IPv6 underlays open their own TAP with the format bytes of their outer header', async () => {
  const { log } = logger();
  const p = ports([4, 6]);
  const common = { log, ports: p.ports, offloads: true, batchSize: 64 };
  const v4 = await chooseSendPath({ ...common, publicIp: '192.0.2.1', overhead: VXLAN.overhead });
  const v6 = await chooseSendPath({ ...common, publicIp: '2001:db8::1', overhead: VXLAN.overheadV6 });
  assert.ok(v4.superPackets && v6.superPackets);
  assert.equal(
    p.opened.map((o) => [o.name, o.source, o.encapLength]),
    [
      ['weft-gso0', '192.0.2.1', 22],
      ['weft-gso6', '2001:db8::1', 22],
    ],
    'VXLAN 8 + inner Ethernet 14 behind either outer header',
  );
  const udp = await chooseSendPath({ ...common, publicIp: '2001:db8::1', overhead: 48 });
  assert.is(p.opened[2]!.encapLength, 0, 'flannel-udp: nothing between the outer UDP header and the packet');
  assert.ok(udp.port);
});

test('an IPv6 TAP that cannot open: the IPv6 underlay keeps its sockets, says why, IPv4 unaffected', async () => {
  const { log, lines } = logger();
  const p = ports([4]);
  const common = { log, ports: p.ports, offloads: true, batchSize: 64 };
  const v6 = await chooseSendPath({ ...common, publicIp: '2001:db8::1', overhead: VXLAN.overheadV6 });
  const v4 = await chooseSendPath({ ...common, publicIp: '192.0.2.1', overhead: VXLAN.overhead });
  assert.is(v6.superPackets, false);
  assert.is(v6.port, undefined);
  assert.match(v6.reason, /^TunnelGsoUnavailableError: no IPv6 forwarding here/);
  assert.ok(v4.superPackets, 'IPv4 still opens weft-gso0');
  const warn = lines.find((l) => l.level === 40)!;
  assert.is(warn.family, 6, 'the log names the family');
  assert.is(warn.reason, v6.reason);
  assert.match(String(warn.msg), /super-packet send path off/);
});

test('no offloads or no TAP in the ports: the socket path for either family, nothing opened', async () => {
  const { log } = logger();
  const p = ports([4, 6]);
  const v6 = { log, publicIp: '2001:db8::1', overhead: 70, batchSize: 64 };
  const off = await chooseSendPath({ ...v6, ports: p.ports, offloads: false });
  assert.match(off.reason, /--no-offload/);
  const none = { link: p.ports.link } as unknown as AgentPorts;
  const forced = await chooseSendPath({ ...v6, ports: none, offloads: true });
  assert.match(forced.reason, /forced off/);
  assert.is(p.opened.length, 0);
});

test.run();
