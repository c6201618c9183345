// `weft cni install [--bin-dir DIR] [--conf-dir DIR]`: makes this install the node's CNI plugin (see @weft/cni).
import { parseArgs } from 'node:util';
import { CONFLIST_NAME, STANDARD_PLUGINS, installCni } from '@weft/cni';
import { currentCniBundle } from './cni-bundle.ts';

const USAGE = `usage: weft cni install [--bin-dir /opt/cni/bin] [--conf-dir /etc/cni/net.d]

Writes an executable named weft into the bin dir (a launcher running this install's one-file plugin, rebuilt
first) and ${CONFLIST_NAME} (weft, then portmap) into the conf dir, and says where the standard plugins
(${STANDARD_PLUGINS.join(', ')}) are: the bin dir, /opt/cni/bin or /usr/lib/cni (Debian's containernetworking-plugins).
`;

/** The `weft cni` command; 0 on success, 2 for a usage error, 1 when the files cannot be written. */
export async function cniCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        'bin-dir': { type: 'string', default: '/opt/cni/bin' },
        'conf-dir': { type: 'string', default: '/etc/cni/net.d' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    process.stderr.write(`weft cni: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.positionals.join(' ') !== 'install') {
    process.stderr.write(USAGE);
    return 2;
  }
  try {
    const script = await currentCniBundle();
    const r = installCni({
      binDir: parsed.values['bin-dir'],
      confDir: parsed.values['conf-dir'],
      node: process.execPath,
      weftScript: script,
    });
    console.log(`installed ${r.launcher} (runs ${script})`);
    console.log(`installed ${r.conflist}`);
    if (r.pluginDir)
      console.log(`standard plugins: ${r.pluginDir}${r.missing.length ? ` (missing: ${r.missing.join(', ')})` : ''}`);
    else
      console.log(
        `standard plugins: not found (install Debian's containernetworking-plugins, or the release tarball into /opt/cni/bin)`,
      );
    if (r.pluginDir && r.pluginDir !== parsed.values['bin-dir'])
      console.log(`the runtime's plugin path must hold both ${parsed.values['bin-dir']} and ${r.pluginDir}`);
    return 0;
  } catch (e) {
    process.stderr.write(`weft cni install: ${(e as Error).message}\n`);
    return 1;
  }
}
