// Checks of the BGP labs with an external router (frr-dual-stack-bgp, frr-ipv6-only-bgp): a node's session as
// its /status reports it, kernel routes awaited via a next hop, and a bounded ping loop that counts losses.
import type { LabNode, LabPod } from '@weft/lab';
import { waitFor } from 'weft/lab';
import { mustStatus } from './agent-lab.ts';
import { kernelRoute } from './dual-stack.ts';

export interface BgpSession {
  address: string;
  state: string;
  families: string[];
  prefixesReceived: number;
}

/** `node`'s BGP session with `address` from its /status; undefined when it has none. */
export async function sessionOf(node: LabNode, address: string): Promise<BgpSession | undefined> {
  const s = (await mustStatus(node)) as unknown as { bgp?: BgpSession[] };
  return s.bgp?.find((p) => p.address === address);
}

/** Matches `ip route` output naming `via` on eth0. */
export const routeVia = (via: string): RegExp => new RegExp(`via ${via.replace(/\./g, '\\.')} dev eth0`);

/** Waits until each [subnet, next hop] is a kernel route of `node`. */
export async function waitKernelRoutes(node: LabNode, wants: readonly (readonly [string, string])[], ms: number) {
  for (const [subnet, via] of wants)
    await waitFor(
      async () => routeVia(via).test(await kernelRoute(node, subnet)),
      ms,
      `${node.name}: kernel route ${subnet} via ${via}`,
    );
}

/** `count` pings at 0.1 s from `from` to `ip` (bounded: about count/10 s); how many were sent and lost. */
export async function pingLoop(from: LabPod, ip: string, count: number): Promise<{ sent: number; lost: number }> {
  const r = await from.ns.exec(['ping', '-n', '-c', String(count), '-i', '0.1', '-W', '1', ip], {
    allowFailure: true,
    timeoutMs: count * 100 + 15_000,
  });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  if (!m) throw new Error(`ping to ${ip}: no summary:\n${r.stdout}${r.stderr}`);
  return { sent: Number(m[1]), lost: Number(m[1]) - Number(m[2]) };
}
