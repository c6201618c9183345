// The nf_tables ruleset generation of a network namespace (native/netlink_gen.cc): a counter the kernel bumps with
// every committed nf_tables transaction there, iptables-nft's included. Equal numbers at two moments mean no
// table in the namespace changed between them, which lets a firewall resync skip reading the rules back.
import { TunnelError } from './errors.ts';
import { addon } from './native.ts';

/**
 * The generation could not be read: no nf_tables in this kernel (`code` EPROTONOSUPPORT, EOPNOTSUPP, ENOENT),
 * no permission (EPERM), a namespace that cannot be entered, or an odd reply. Callers fall back to reading the
 * rules themselves; nothing is wrong with the rules.
 */
export class RulesetGenerationError extends TunnelError {
  override name = 'RulesetGenerationError';
}

/**
 * Returns the nf_tables ruleset generation (an unsigned 32-bit number) of the calling thread's network namespace,
 * or of the one at `netns` (a path such as /run/netns/NAME). Synchronous: one netlink request and its reply on a
 * fresh socket, bounded by a 1 s receive timeout; no process is started. Throws RulesetGenerationError, or
 * AddonNotBuiltError when the addon is missing.
 */
export function nftGeneration(netns?: string): number {
  const native = addon();
  try {
    return native.nftGeneration(netns);
  } catch (e) {
    const err = e as { code?: unknown; syscall?: unknown; message?: string };
    if (typeof err?.code !== 'string') throw e;
    throw new RulesetGenerationError(
      `nf_tables ruleset generation: ${err.message}`,
      err.code,
      typeof err.syscall === 'string' ? err.syscall : '',
    );
  }
}
