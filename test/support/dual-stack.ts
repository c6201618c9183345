// Helpers of the dual-stack lab tests (host-gw and native with BGP): pings per address and checksummed transfers.
import * as assert from 'uvu/assert';
import type { LabNode, LabPod } from '@weft/lab';
import { tcpTransfer } from './transfer.ts';

const MB = 1024 * 1024;

/** Three pings from `from` to `ip`; true when all came back. */
export async function pingAll(from: LabPod, ip: string): Promise<boolean> {
  const r = await from.ns.exec(['ping', '-c', '3', '-i', '0.2', '-W', '2', ip], { allowFailure: true });
  return / 3 received/.test(r.stdout);
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
