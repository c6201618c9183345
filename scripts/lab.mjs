#!/usr/bin/env node
// `npm run lab`, the main job: installs what is missing (npm packages; iproute2, iperf3, ping, iptables and the
// standard CNI plugins the lab's pods attach through, from Debian), builds, then runs a three-node weft lab, shows
// its leases and routes, sends traffic across it and tears it down. Flags go to `weft lab demo` as given, e.g.
// `npm run lab -- --dual-stack` (pods with IPv4 and IPv6 addresses) or `npm run lab -- --ipv6-only`.
import { spawnSync } from 'node:child_process';
import { ensureNpmDeps, ensureDebianPackages, root, sh } from './setup.mjs';

if (process.getuid?.() !== 0) {
  console.error('npm run lab needs root: it creates network namespaces and TUN devices (run it as root on a VM).');
  process.exit(1);
}
ensureNpmDeps();
ensureDebianPackages({
  ip: 'iproute2',
  iperf3: 'iperf3',
  ping: 'iputils-ping',
  iptables: 'iptables',
  // `command -v` answers for an absolute path too; Debian puts the plugins into /usr/lib/cni
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
});
sh('npx', ['tsc', '-b']);
const r = spawnSync(process.execPath, ['agent/bin/weft.mjs', 'lab', 'demo', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
