// Helpers of the dual-stack lab tests (host-gw and native with BGP): pings per address (both ways between two
// pods), checksummed transfers and the kernel's route to a subnet.
import * as assert from 'uvu/assert';
import type { LabNode, LabPod } from '@weft/lab';
import { tcpTransfer } from './transfer.ts';

const MB = 1024 * 1024;

/** Three pings from `from` to `ip`; true when all came back. */
export async function pingAll(from: LabPod, ip: string): Promise<boolean> {
  const r = await from.ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', ip], { allowFailure: true });
  return / 3 received/.test(r.stdout);
}

/** Asserts that `p1` and `p2` each ping every address `targets` gives for the other (three pings, all back). */
export async function assertPingsBothWays(p1: LabPod, p2: LabPod, targets: (to: LabPod) => string[]): Promise<void> {
  for (const [from, to] of [
    [p1, p2],
    [p2, p1],
  ] as const)
    for (const ip of targets(to)) assert.ok(await pingAll(from, ip), `${from.name} -> ${ip} ping`);
}

/** 50 MB from `from` to `ip` in `to` over TCP, checked byte for byte (SHA-256 on both ends). */
export async function transferChecked(from: LabPod, to: LabPod, ip: string, port: number): Promise<void> {
  const t = await tcpTransfer(from.ns, to.ns, ip, 50 * MB, port);
  assert.is(t.received.bytes, 50 * MB, `every byte to ${ip} arrived`);
  assert.is(t.received.sha256, t.sent.sha256, `and unchanged (${ip})`);
}

/** The kernel's route to `subnet` on `node` (either family), as `ip route show` prints it; '' when none. */
export async function kernelRoute(node: LabNode, subnet: string): Promise<string> {
  return (await node.ns.ip([subnet.includes(':') ? '-6' : '-4', 'route', 'show', subnet])).stdout.trim();
}
