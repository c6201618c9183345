// The package boundaries of DESIGN.md and STYLE.md (house style 1 and 2), checked by dependency-cruiser in
// npm test (test/dependency-rules.test.ts). Paths are relative to the repo root; `@weft/x` resolves through the
// tsconfig paths to packages/x/src, so a rule about a package is a rule about its directory.
const IO = '^(node:)?(net|dgram|fs|fs/promises|child_process)$';
const ADDON = '(^packages/tunnel/|\\.node$)';
// Protocol cores: the codecs (encap, netaddr, route-sync's message codec), route-sync's FSM and the CNI plugin's
// core (subnet.env, the delegate merge, results between spec versions) do no I/O.
const PURE =
  '^packages/(encap|netaddr)/src/|^packages/route-sync/src/(codec|fsm)/|^packages/cni/src/(errors|versions|subnet-env|netconf)\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'pure-core-no-io',
      comment: 'codecs and the FSM are pure: sockets, files, processes and the addon live in adapters',
      severity: 'error',
      from: { path: PURE },
      to: { path: `${IO}|${ADDON}` },
    },
    {
      name: 'route-sync-not-agent-or-tunnel',
      comment: 'route-sync is a BGP speaker; the agent uses it, never the other way round',
      severity: 'error',
      from: { path: '^packages/route-sync/src/' },
      to: { path: '^packages/(agent|tunnel)/' },
    },
    {
      name: 'tunnel-no-protocols',
      comment: 'tunnel moves bytes between file descriptors and slabs; it knows nothing about protocols',
      severity: 'error',
      from: { path: '^packages/tunnel/src/' },
      to: { path: '^packages/(encap|route-sync|explain)/' },
    },
    {
      name: 'agent-not-explain-or-lab',
      comment: 'the agent takes a capture interface; the CLI plugs the pcapng writer in. The lab is for tests',
      severity: 'error',
      from: { path: '^packages/agent/src/' },
      to: { path: '^packages/(explain|lab)/' },
    },
    {
      name: 'packages-not-cli',
      comment: 'the CLI (agent/) sits on top of the packages; nothing below imports it',
      severity: 'error',
      from: { path: '^packages/' },
      to: { path: '^agent/' },
    },
    {
      name: 'src-not-dev-dependency',
      comment: 'a production install (npm ci --omit=dev) has no devDependencies: sources must not need them',
      severity: 'error',
      from: { path: '^(packages/[^/]+|agent)/src/' },
      to: { dependencyTypes: ['npm-dev', 'npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that does not resolve would fail at run time',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    combinedDependencies: true,
    // build output and stray compiler output next to sources; node_modules stays in (not followed) so the
    // dependency types of npm imports are known
    exclude: { path: '^(packages/[^/]+|agent)/(dist|build)/|^(packages|agent)/.*\\.(js|d\\.ts)$' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'node', 'default'] },
  },
};
