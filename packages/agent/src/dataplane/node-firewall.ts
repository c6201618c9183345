// The node's masquerade and forward rules over their lifetime: installed once the lease is held, re-asserted
// every --iptables-resync seconds (someone may flush them; flanneld re-checks on the same period), rewritten
// for a new subnet when the lease changes, removed on a clean stop. The rules themselves are firewall.ts's.
import type { Logger } from 'pino';
import type { Ipv4Prefix } from '@weft/netaddr';
import { flannelRuleset, type FirewallRuleset } from '../firewall.ts';
import type { FirewallProgrammer } from '../ports.ts';

export interface NodeFirewallOptions {
  /** Absent (ports without one): a warning when rules are asked for, nothing installed. */
  firewall?: FirewallProgrammer;
  network: Ipv4Prefix;
  subnet: Ipv4Prefix;
  /** --ip-masq, --iptables-forward-rules, --iptables-resync (seconds). */
  ipMasq: boolean;
  forward: boolean;
  resyncSeconds: number;
  log: Logger;
}

export class NodeFirewall {
  private ruleset: FirewallRuleset;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly opts: NodeFirewallOptions) {
    this.ruleset = this.rulesFor(opts.subnet);
  }

  /**
   * Installs the rules. Never rejects: like flanneld, a refusal (no iptables binary, no permission) is logged as an
   * error and retried at each resync while forwarding runs; `installed` tells whether the first attempt worked.
   */
  async start(): Promise<boolean> {
    const { firewall, log } = this.opts;
    if (!this.ruleset.length) return true;
    if (!firewall) {
      log.warn(
        { ipMasq: this.opts.ipMasq, forward: this.opts.forward },
        'no firewall port: masquerade and forward rules are not installed',
      );
      return false;
    }
    let installed = true;
    try {
      await firewall.apply(log, this.ruleset);
      log.info(
        { chains: this.ruleset.map((c) => `${c.table}/${c.chain}`), resyncSeconds: this.opts.resyncSeconds },
        'firewall rules installed',
      );
    } catch (e) {
      installed = false;
      log.error({ err: (e as Error).message }, 'firewall rules could not be installed; retrying at each resync');
    }
    this.timer = setInterval(() => this.serial(() => this.reassert()), this.opts.resyncSeconds * 1000);
    this.timer.unref();
    return installed;
  }

  /** Rewrites the rules for a new subnet (lease lost and re-acquired elsewhere). */
  setSubnet(subnet: Ipv4Prefix): Promise<void> {
    this.ruleset = this.rulesFor(subnet);
    return this.serial(() => this.reassert());
  }

  /** Stops the resync and removes every rule and chain of ours. */
  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const { firewall, log } = this.opts;
    return this.serial(async () => {
      if (firewall && this.ruleset.length) await firewall.remove(log, this.ruleset);
    });
  }

  private rulesFor(subnet: Ipv4Prefix): FirewallRuleset {
    return flannelRuleset(this.opts.network, subnet, { ipMasq: this.opts.ipMasq, forward: this.opts.forward });
  }

  private async reassert(): Promise<void> {
    try {
      await this.opts.firewall?.apply(this.opts.log, this.ruleset);
    } catch (e) {
      this.opts.log.error(
        { err: (e as Error).message },
        'firewall rules could not be re-asserted; retrying at the next resync',
      );
    }
  }

  /** One firewall operation at a time, so a resync never interleaves with a stop. */
  private serial(fn: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(fn, fn);
    return this.chain;
  }
}
