// The BGP decision process (RFC 4271 §9.1.2.2), written as the RFC words it: a list of elimination steps.
// Each step keeps only the candidates that are best by one criterion; the first step that leaves a single
// route decides, and `decide` reports which one did, so a test (or `weft explain`) can say why a route won.
//
// MED is compared only between routes from the same neighbouring AS (§9.1.2.2 c). That makes it
// non-transitive, which is why the RFC phrases it as "remove from consideration" over the whole set rather
// than as a pairwise comparison: a sort would give order-dependent answers.
import type { Route } from './route.ts';
import { asPathLength, compareAddresses, LOCAL_SOURCE, neighbourAs } from './route.ts';

/** The elimination steps, in the order they run. */
export enum DecisionStep {
  /** Only one route to choose from. */
  OnlyCandidate = 0,
  /** Routes this speaker originates beat learned ones (as other implementations' "weight" does). */
  LocallyOriginated = 1,
  /** §9.1.1: degree of preference, LOCAL_PREF for iBGP routes. */
  HighestLocalPref = 2,
  /** §9.1.2.2 a. */
  ShortestAsPath = 3,
  /** §9.1.2.2 b: IGP < EGP < INCOMPLETE. */
  LowestOrigin = 4,
  /** §9.1.2.2 c: among routes from the same neighbouring AS; a missing MED counts as 0. */
  LowestMed = 5,
  /** §9.1.2.2 d: routes learned over eBGP beat iBGP ones. */
  EbgpOverIbgp = 6,
  /** §9.1.2.2 f, with RFC 4456 §9: ORIGINATOR_ID stands in for the BGP Identifier when present. */
  LowestRouterId = 7,
  /** RFC 4456 §9: a shorter CLUSTER_LIST wins. */
  ShortestClusterList = 8,
  /** §9.1.2.2 g: lowest peer address. */
  LowestPeerAddress = 9,
}

type Step = [DecisionStep, (routes: Route[], defaultLocalPref: number) => Route[]];

/** Keeps the routes whose `score` is smallest. */
function keepMin(routes: Route[], score: (r: Route) => number): Route[] {
  let best = Infinity;
  for (const r of routes) best = Math.min(best, score(r));
  return routes.filter((r) => score(r) === best);
}

/** §9.1.2.2 c: within each neighbour-AS group drop routes whose MED exceeds the group's lowest. */
function lowestMedPerNeighbour(routes: Route[]): Route[] {
  const lowest = new Map<number, number>();
  for (const r of routes) {
    const as = neighbourAs(r.attrs.asPath);
    lowest.set(as, Math.min(lowest.get(as) ?? Infinity, r.attrs.med ?? 0));
  }
  return routes.filter((r) => (r.attrs.med ?? 0) === lowest.get(neighbourAs(r.attrs.asPath)));
}

function routerId(r: Route): string {
  return r.attrs.originatorId ?? r.source.bgpId;
}

const STEPS: Step[] = [
  [DecisionStep.LocallyOriginated, (rs) => keepMin(rs, (r) => (r.source.id === LOCAL_SOURCE ? 0 : 1))],
  [DecisionStep.HighestLocalPref, (rs, lp) => keepMin(rs, (r) => -(r.attrs.localPref ?? lp))],
  [DecisionStep.ShortestAsPath, (rs) => keepMin(rs, (r) => asPathLength(r.attrs.asPath))],
  [DecisionStep.LowestOrigin, (rs) => keepMin(rs, (r) => r.attrs.origin ?? 2)],
  [DecisionStep.LowestMed, lowestMedPerNeighbour],
  [DecisionStep.EbgpOverIbgp, (rs) => keepMin(rs, (r) => (r.source.ibgp ? 1 : 0))],
  [DecisionStep.LowestRouterId, (rs) => keepLowestBy(rs, routerId)],
  [DecisionStep.ShortestClusterList, (rs) => keepMin(rs, (r) => r.attrs.clusterList.length)],
  [DecisionStep.LowestPeerAddress, (rs) => keepLowestBy(rs, (r) => r.source.address)],
];

function keepLowestBy(routes: Route[], addr: (r: Route) => string): Route[] {
  let best = addr(routes[0]!);
  for (const r of routes) if (compareAddresses(addr(r), best) < 0) best = addr(r);
  return routes.filter((r) => compareAddresses(addr(r), best) === 0);
}

export interface Decision {
  best: Route;
  /** The step that left a single route. */
  decidedBy: DecisionStep;
}

/**
 * Picks the best of the candidate routes to one prefix (all feasible: loops and unusable next hops were
 * filtered on import). Returns null for no candidates. Deterministic: the same set always gives the same
 * answer whatever its order.
 */
export function decide(candidates: readonly Route[], defaultLocalPref = 100): Decision | null {
  if (candidates.length === 0) return null;
  if (candidates.length === 1) return { best: candidates[0]!, decidedBy: DecisionStep.OnlyCandidate };
  let rs = [...candidates];
  for (const [stepName, filter] of STEPS) {
    rs = filter(rs, defaultLocalPref);
    if (rs.length === 1) return { best: rs[0]!, decidedBy: stepName };
  }
  // Two paths from the same peer address cannot both be in an Adj-RIB-In (no ADD-PATH); keep one stably.
  return { best: rs[0]!, decidedBy: DecisionStep.LowestPeerAddress };
}
