// The overlay backends' peer table: small integer peer indexes (what the UDP socket sends to) with, per index,
// the peer's subnet (for the receive-side source check) and its VXLAN template. Typed arrays indexed by peer,
// so the per-packet checks are array reads, not map lookups or allocations.
import {
  formatIpv4Prefix as formatIp4Net,
  ipv4Mask as maskOf,
  tryParseIpv4 as parseIp4,
  type Ipv4Prefix as Ip4Net,
} from '@weft/netaddr';
import { subnetKey } from '../subnet-key.ts';

export const MAX_PEERS = 4096;

export interface PeerSlot {
  index: number;
  subnet: Ip4Net;
  publicIp: string;
  vtepMac?: string;
}

export class PeerTable {
  /** Per peer index: subnet network address and mask, for "inner source lies in the sender's subnet". */
  readonly subnetIp = new Uint32Array(MAX_PEERS);
  readonly subnetMask = new Uint32Array(MAX_PEERS);
  /** Per peer index: underlay address as uint32 (for captures). */
  readonly address = new Uint32Array(MAX_PEERS);
  /** 1 when the index is in use. */
  readonly live = new Uint8Array(MAX_PEERS);
  private readonly bySubnet = new Map<string, PeerSlot>();
  private readonly free: number[] = [];
  private next = 0;

  get size(): number {
    return this.bySubnet.size;
  }

  get(subnet: Ip4Net): PeerSlot | undefined {
    return this.bySubnet.get(subnetKey(subnet));
  }

  /** Adds or updates the peer owning `subnet`; returns its slot (the index is stable across updates). */
  upsert(subnet: Ip4Net, publicIp: string, vtepMac?: string): PeerSlot {
    const key = subnetKey(subnet);
    let slot = this.bySubnet.get(key);
    if (!slot) {
      const index = this.free.pop() ?? this.next++;
      if (index >= MAX_PEERS) throw new RangeError(`more than ${MAX_PEERS} peers`);
      slot = { index, subnet, publicIp, vtepMac };
      this.bySubnet.set(key, slot);
    }
    slot.publicIp = publicIp;
    slot.vtepMac = vtepMac;
    this.subnetIp[slot.index] = subnet.ip;
    this.subnetMask[slot.index] = maskOf(subnet.prefixLen);
    this.address[slot.index] = parseIp4(publicIp) ?? 0;
    this.live[slot.index] = 1;
    return slot;
  }

  /** Removes the peer owning `subnet`; returns its old slot. */
  remove(subnet: Ip4Net): PeerSlot | undefined {
    const key = subnetKey(subnet);
    const slot = this.bySubnet.get(key);
    if (!slot) return undefined;
    this.bySubnet.delete(key);
    this.live[slot.index] = 0;
    this.free.push(slot.index);
    return slot;
  }

  /** True when `src` (uint32) is inside the subnet of live peer `index`. */
  ownsSource(index: number, src: number): boolean {
    return (
      index >= 0 &&
      index < MAX_PEERS &&
      this.live[index] === 1 &&
      (src & this.subnetMask[index]!) >>> 0 === this.subnetIp[index]
    );
  }

  list(): { subnet: string; via: string; vtepMac?: string; index: number }[] {
    return [...this.bySubnet.values()].map((s) => ({
      subnet: formatIp4Net(s.subnet),
      via: s.publicIp,
      vtepMac: s.vtepMac,
      index: s.index,
    }));
  }
}
