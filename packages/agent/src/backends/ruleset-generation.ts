// Which nf_tables ruleset generation, if any, covers the rules iptables writes; used by the iptables port to skip
// reading its rules back on a resync when nothing in the namespace changed since it last verified them.
//
// Design notes: the kernel bumps one generation number per network namespace with every committed nf_tables
// transaction, whoever commits it; iptables-nft writes through nf_tables, so an unchanged number proves that no
// rule of ours (nor anything else) was touched. iptables-legacy tables live outside nf_tables and no generation
// covers them, so the backend is asked once (`iptables --version` says "(nf_tables)" or "(legacy)"); on legacy, or
// when the number cannot be read (no nf_tables, no permission), every resync reads the rules back as before.
// The number is read before the read-back it certifies: a change that lands between the two leaves a newer
// generation, which the next resync sees.
import type { Logger } from 'pino';

/** Reads the ruleset generation of the namespace iptables acts on; throws when it cannot. */
export type GenerationReader = () => number;

/** Runs `iptables --version` and resolves with its output. */
export type VersionProbe = () => Promise<string>;

/** The generation source of one firewall port: null until known, then a reader or nothing (legacy, failures). */
export class RulesetGeneration {
  private state: 'unknown' | 'nft' | 'none' = 'unknown';

  constructor(
    private readonly read: GenerationReader | undefined,
    private readonly probe: VersionProbe,
  ) {
    if (!read) this.state = 'none';
  }

  /** Whether generations are in use (false on iptables-legacy, without a reader, or after a failed read). */
  get active(): boolean {
    return this.state === 'nft';
  }

  /**
   * The current generation, or null when none covers iptables' rules (then the caller must read them back).
   * Never rejects: a failed probe leaves the backend unknown (asked again next time); a failed read turns
   * generations off for this port, with one warning.
   */
  async now(log: Logger): Promise<number | null> {
    if (this.state === 'unknown') await this.detect(log);
    if (this.state !== 'nft' || !this.read) return null;
    try {
      return this.read();
    } catch (e) {
      this.state = 'none';
      log.warn(
        { err: (e as Error).message },
        'nf_tables ruleset generation unreadable: every firewall resync reads the rules back',
      );
      return null;
    }
  }

  private async detect(log: Logger): Promise<void> {
    let version: string;
    try {
      version = await this.probe();
    } catch {
      return; // no iptables yet: apply itself will fail and say so
    }
    this.state = /\(nf_tables\)/.test(version) ? 'nft' : 'none';
    log.debug({ version: version.trim(), generations: this.active }, 'iptables backend');
  }
}
