// weft labs with an FRR route reflector (frr-dual-stack-bgp, frr-ipv6-only-bgp): the lab brought up with FRR
// started before any agent, and the frame that prints FRR's tables and the agents' logs when a check fails and
// always stops FRR and tears the lab down.
import type { Lab } from '@weft/lab';
import { labUp, type LabOptions, type RunningLab } from 'weft/lab';
import { FrrRouter, type FrrRouterOptions } from './frr-router.ts';
import { withPeerLab } from './peer-namespace.ts';

export interface FrrLab {
  run: RunningLab;
  frr: FrrRouter;
}

/** labUp with `options`, FRR started on the lab (with `frrOptions(lab)`) once the namespaces exist. */
export async function labUpWithFrr(
  options: Omit<LabOptions, 'beforeAgents'>,
  frrOptions: (lab: Lab) => FrrRouterOptions,
  say: (m: string) => void,
): Promise<FrrLab> {
  let frr: FrrRouter | null = null;
  const beforeAgents = async (lab: Lab) => {
    const o = frrOptions(lab);
    frr = await FrrRouter.start(lab, o);
    say(`FRR up: neighbours ${o.neighbors.join(', ')}`);
  };
  const run = await labUp({ ...options, beforeAgents }, say);
  const started = frr as FrrRouter | null; // assigned in beforeAgents
  if (!started) throw new Error('FRR did not start');
  return { run, frr: started };
}

/** Runs `checks`; if they throw, prints FRR's tables and each agent's log tail first. Stops FRR and the lab always. */
export function withFrrLab({ run, frr }: FrrLab, checks: () => Promise<void>): Promise<void> {
  return withPeerLab(run, frr, 'FRR', checks);
}
