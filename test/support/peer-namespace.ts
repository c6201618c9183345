// The namespace of a BGP daemon under test (FRR, GoBGP) on a lab's br0: its underlay addresses on eth0, the
// network it originates on lo, and a scratch directory for its configuration and log.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab, Netns } from '@weft/lab';
import type { RunningLab } from 'weft/lab';

export interface PeerAddresses {
  /** eth0's addresses on br0 (a /24 and a /64). */
  ip4: string;
  ip6: string;
  /** What the daemon originates, on lo, with prefix lengths (`198.51.100.1/25`, `2001:db8:100::1/64`). */
  lo4: string;
  lo6: string;
}

/** Creates namespace `name` (the veth's lab end is called `name` too) and `lab.scope.dir/name`. */
export async function peerNamespace(lab: Lab, name: string, a: PeerAddresses): Promise<{ ns: Netns; dir: string }> {
  const ns = await lab.scope.netns(name);
  await lab.scope.veth(ns, 'eth0', lab.underlay, name);
  await lab.underlay.ip(['link', 'set', name, 'master', 'br0']);
  await ns.ipBatch([
    `addr add ${a.ip4}/24 dev eth0`,
    `addr add ${a.ip6}/64 dev eth0 nodad`,
    'link set lo up',
    `addr add ${a.lo4} dev lo`,
    `addr add ${a.lo6} dev lo`,
  ]);
  const dir = join(lab.scope.dir, name);
  mkdirSync(dir, { recursive: true });
  return { ns, dir };
}

/** A BGP daemon under test, as the frame below needs it. */
export interface PeerUnderTest {
  /** Its neighbours and tables, for a failure report. */
  dump(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Runs `checks`; if they throw, prints the peer's view (headed `label`) and each agent's log tail first. Stops the
 * peer and tears the lab down always.
 */
export async function withPeerLab(
  run: RunningLab,
  peer: PeerUnderTest,
  label: string,
  checks: () => Promise<void>,
): Promise<void> {
  try {
    await checks();
  } catch (e) {
    console.log(`--- ${label}:\n${await peer.dump()}`);
    for (const [name, p] of run.agents) console.log(`--- agent ${name}:\n${p.log().slice(-2500)}`);
    throw e;
  } finally {
    await peer.stop();
    await run.lab.teardown();
  }
}
