// Which address families a session carries, and keeping every message inside them.
//
// Design notes
// - RFC 4760 §8: routes of an <AFI, SAFI> flow between two speakers only when each advertised the multiprotocol
//   capability for it. The negotiated set is the intersection of both OPENs. A peer whose OPEN has no
//   multiprotocol capability at all is a plain BGP-4 speaker (RFC 4271), which carries IPv4 unicast only.
// - Only unicast SAFIs are routed by weft; other tuples a peer offers are ignored here.
// - Sending: the RIB exports nothing of other families and End-of-RIB (RFC 4724 §2) and ROUTE-REFRESH
//   (RFC 2918 §4) go only for negotiated families. Some speakers reset the session on anything else.
// - Receiving: prefixes of a family not negotiated are ignored (counted) and the rest of the UPDATE is used.
//   That is RFC 4760 §7's treatment of routes of an AFI/SAFI a speaker does not take (ignore them for the rest
//   of the session) without its optional session reset, in the spirit of RFC 7606 §2 (the mildest handling
//   that keeps the session). A ROUTE-REFRESH for such a family is ignored, as RFC 2918 §4 says.
import { Afi, AttrType, CapabilityCode, Safi, type OpenMessage, type Prefix, type UpdateMessage } from '../types.ts';
import { endOfRibFamily } from './messages.ts';

/** The families weft routes, in the order it advertises them. */
export const SUPPORTED_FAMILIES: readonly Afi[] = [Afi.Ipv4, Afi.Ipv6];

/** The unicast AFIs an OPEN advertises with the multiprotocol capability; none at all means IPv4 only. */
export function advertisedFamilies(open: OpenMessage): Afi[] {
  const mp = open.capabilities.filter((c) => c.type === CapabilityCode.Multiprotocol);
  if (mp.length === 0) return [Afi.Ipv4];
  return SUPPORTED_FAMILIES.filter((afi) => mp.some((c) => c.afi === afi && c.safi === Safi.Unicast));
}

/** The families both OPENs advertise (RFC 4760 §8), in our order. */
export function negotiateFamilies(local: OpenMessage, remote: OpenMessage): Afi[] {
  const theirs = advertisedFamilies(remote);
  return advertisedFamilies(local).filter((afi) => theirs.includes(afi));
}

/** What of a received UPDATE may be used on a session that negotiated `families`. */
export interface FamilyFilterResult {
  /** The UPDATE with prefixes of other families removed; null when nothing usable is left. */
  update: UpdateMessage | null;
  /** End-of-RIB for a negotiated family, or null. */
  endOfRib: Afi | null;
  /** How many prefixes (announced or withdrawn) were of a family not negotiated. */
  ignored: number;
}

/**
 * Keeps the parts of `u` that belong to `families`. Attributes other than MP_REACH/MP_UNREACH are left as they
 * are (they apply to whichever prefixes remain). IPv4 routes with an IPv6 next hop count as a family of their own,
 * kept only when `extendedNextHop` was negotiated (RFC 8950 §4). Pure; `u` is not modified.
 */
export function filterUpdateFamilies(
  u: UpdateMessage,
  families: readonly Afi[],
  extendedNextHop = false,
): FamilyFilterResult {
  const eor = endOfRibFamily(u);
  if (eor !== null) return { update: null, endOfRib: families.includes(eor) ? eor : null, ignored: 0 };
  const ok = (p: Prefix) => families.includes(p.afi);
  let ignored = 0;
  const keep = (ps: Prefix[]) => {
    const kept = ps.filter(ok);
    ignored += ps.length - kept.length;
    return kept;
  };
  const withdrawn = keep(u.withdrawn);
  const nlri = keep(u.nlri);
  const attributes = u.attributes.filter((a) => {
    if (a.type !== AttrType.MpReachNlri && a.type !== AttrType.MpUnreachNlri) return true;
    const n = a.type === AttrType.MpReachNlri ? a.nlri.length : a.withdrawn.length;
    const ipv6NextHop = a.type === AttrType.MpReachNlri && a.afi === Afi.Ipv4 && a.nextHop.includes(':');
    if (families.includes(a.afi as Afi) && a.safi === Safi.Unicast && (!ipv6NextHop || extendedNextHop)) return true;
    ignored += n;
    return false;
  });
  if (ignored === 0) return { update: u, endOfRib: null, ignored };
  const rest: UpdateMessage = { ...u, withdrawn, nlri, attributes };
  const empty =
    !withdrawn.length &&
    !nlri.length &&
    !attributes.some((a) => a.type === AttrType.MpReachNlri || a.type === AttrType.MpUnreachNlri);
  return { update: empty ? null : rest, endOfRib: null, ignored };
}
