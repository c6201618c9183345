// `weft cni add|check|del`: a container runtime's side of CNI for one container, as cnitool does it, with @weft/cni's
// runtime driver (the one `weft lab` and the tests use) on the first conflist of the conf dir. The compose nodes
// attach their pods so. Runs the plugins in this process's network namespace (the node's).
import { parseArgs } from 'node:util';
import { CniRuntime, STANDARD_PLUGIN_DIRS, loadConfList } from '@weft/cni';

const USAGE = `usage: weft cni add|check|del --netns PATH --container-id ID [--ifname eth0] [--conf-dir /etc/cni/net.d]
                              [--cni-path /opt/cni/bin:/usr/lib/cni] [--cache-dir /var/lib/cni/results]

Runs the first .conflist of the conf dir for one container, plugin by plugin, as a runtime does: add prints the
result and keeps it in the cache dir for check and del. A failing plugin's output is printed, exit 1.
`;

/** 0 on success, 1 when a plugin failed or the conflist cannot be read, 2 for a usage error. */
export async function cniRuntimeCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        netns: { type: 'string' },
        'container-id': { type: 'string' },
        ifname: { type: 'string', default: 'eth0' },
        'conf-dir': { type: 'string', default: '/etc/cni/net.d' },
        'cni-path': { type: 'string', default: ['/opt/cni/bin', ...STANDARD_PLUGIN_DIRS.slice(1)].join(':') },
        'cache-dir': { type: 'string', default: '/var/lib/cni/results' },
      },
    });
  } catch (e) {
    process.stderr.write(`weft cni: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const sub = parsed.positionals.join(' ');
  const v = parsed.values;
  if (!['add', 'check', 'del'].includes(sub) || !v.netns || !v['container-id']) {
    process.stderr.write(USAGE);
    return 2;
  }
  let rt: CniRuntime;
  try {
    rt = new CniRuntime({ list: loadConfList(v['conf-dir']!), cniPath: v['cni-path']!, cacheDir: v['cache-dir'] });
  } catch (e) {
    process.stderr.write(`weft cni ${sub}: ${(e as Error).message}\n`);
    return 1;
  }
  const at = { netns: v.netns, containerId: v['container-id'], ifName: v.ifname };
  const r = sub === 'add' ? rt.add(at) : sub === 'check' ? rt.check(at) : rt.del(at);
  if (r && 'failed' in r) {
    process.stdout.write(r.run.stdout);
    process.stderr.write(`weft cni ${sub}: ${r.failed} failed (exit ${r.run.code}) ${r.run.stderr}\n`);
    return 1;
  }
  if (r) process.stdout.write(`${JSON.stringify(r.result, null, 2)}\n`);
  return 0;
}
