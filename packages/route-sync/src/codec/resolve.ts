// From an UPDATE's attribute list to what a RIB needs: one field per attribute, AS4_* merged (RFC 6793 §4.2.3),
// unknown optional transitive attributes marked Partial for passing on (RFC 4271 §5).
import {
  AS_TRANS,
  AttrFlag,
  AttrType,
  ErrorHandling,
  type CodecContext,
  type MpReachAttribute,
  type MpUnreachAttribute,
  type PathAttribute,
  type RouteAttributes,
  type UpdateMessage,
} from '../types.ts';
import { mergeAs4Path } from './aspath.ts';

/** The first attribute of a type, typed. */
export function findAttribute<T extends PathAttribute['type']>(
  attrs: readonly PathAttribute[],
  type: T,
): Extract<PathAttribute, { type: T }> | undefined {
  return attrs.find((a) => a.type === type) as Extract<PathAttribute, { type: T }> | undefined;
}

/** Attributes with every list empty and nothing optional set: what an UPDATE without attributes resolves to. */
export function emptyAttributes(): RouteAttributes {
  return {
    asPath: [],
    atomicAggregate: false,
    communities: [],
    extendedCommunities: [],
    largeCommunities: [],
    clusterList: [],
    unrecognized: [],
  };
}

/**
 * Resolves the attributes of an UPDATE received under `ctx`. On a 2-octet session AS4_PATH/AS4_AGGREGATOR are
 * merged into AS_PATH/AGGREGATOR; on a 4-octet session they are ignored (RFC 6793 §4.1). Unrecognized optional
 * transitive attributes are returned with Partial set; unrecognized non-transitive ones are dropped (RFC 4271 §5).
 */
export function resolveAttributes(attrs: readonly PathAttribute[], ctx: CodecContext): RouteAttributes {
  const out = emptyAttributes();
  for (const a of attrs) {
    switch (a.type) {
      case AttrType.Origin:
        out.origin = a.origin;
        break;
      case AttrType.AsPath:
        out.asPath = a.segments;
        break;
      case AttrType.MultiExitDisc:
        out.med = a.med;
        break;
      case AttrType.LocalPref:
        out.localPref = a.localPref;
        break;
      case AttrType.AtomicAggregate:
        out.atomicAggregate = true;
        break;
      case AttrType.Aggregator:
        out.aggregator = { asn: a.asn, addr: a.addr };
        break;
      case AttrType.Communities:
        out.communities = a.communities;
        break;
      case AttrType.ExtendedCommunities:
        out.extendedCommunities = a.communities;
        break;
      case AttrType.LargeCommunity:
        out.largeCommunities = a.communities;
        break;
      case AttrType.OriginatorId:
        out.originatorId = a.originatorId;
        break;
      case AttrType.ClusterList:
        out.clusterList = a.clusterIds;
        break;
      case AttrType.Unrecognized:
        if (a.flags & AttrFlag.Transitive) out.unrecognized.push({ ...a, flags: a.flags | AttrFlag.Partial });
        break;
      default:
        break; // NEXT_HOP and MP_* are per family; AS4_* handled below
    }
  }
  if (!ctx.fourOctetAs) mergeAs4(attrs, out);
  return out;
}

/** RFC 6793 §4.2.3: AGGREGATOR decides whether AS4_PATH is trusted at all. */
function mergeAs4(attrs: readonly PathAttribute[], out: RouteAttributes): void {
  const as4Path = findAttribute(attrs, AttrType.As4Path);
  const as4Agg = findAttribute(attrs, AttrType.As4Aggregator);
  if (out.aggregator && out.aggregator.asn !== AS_TRANS) return; // AS4_AGGREGATOR and AS4_PATH are ignored
  if (out.aggregator && as4Agg) out.aggregator = { asn: as4Agg.asn, addr: as4Agg.addr };
  if (as4Path) out.asPath = mergeAs4Path(out.asPath, as4Path.segments);
}

/** Routes an UPDATE announces and withdraws, per family, with their next hops (classic and MP together). */
export interface UpdateRoutes {
  announced: { prefixes: MpReachAttribute['nlri']; nextHop: string; linkLocalNextHop?: string }[];
  withdrawn: MpUnreachAttribute['withdrawn'];
}

/**
 * Flattens an UPDATE's prefixes. When the decoder set `handling` to TreatAsWithdraw, every announced prefix is
 * reported as withdrawn instead (RFC 7606 §2), which is exactly what the session must do with them.
 */
export function updateRoutes(msg: UpdateMessage): UpdateRoutes {
  const announced: UpdateRoutes['announced'] = [];
  const withdrawn = [...msg.withdrawn];
  const nextHop = findAttribute(msg.attributes, AttrType.NextHop);
  if (msg.nlri.length) announced.push({ prefixes: msg.nlri, nextHop: nextHop?.nextHop ?? '' });
  for (const a of msg.attributes) {
    if (a.type === AttrType.MpReachNlri && a.nlri.length) {
      announced.push({
        prefixes: a.nlri,
        nextHop: a.nextHop,
        ...(a.linkLocalNextHop ? { linkLocalNextHop: a.linkLocalNextHop } : {}),
      });
    } else if (a.type === AttrType.MpUnreachNlri) withdrawn.push(...a.withdrawn);
  }
  if (msg.handling === ErrorHandling.TreatAsWithdraw) {
    return { announced: [], withdrawn: [...withdrawn, ...announced.flatMap((x) => x.prefixes)] };
  }
  return { announced, withdrawn };
}
