// `weft explain`: reads hex (arguments, a file, stdin) or a pcap/pcapng file, and prints each packet layer by layer
// with @weft/explain. This file only does the I/O and the flags; the explaining is the package's pure core.
import { readFileSync, statSync } from 'node:fs';
import { cliProgram, parseCli } from '@weft/agent';
import {
  CaptureFormatError,
  Explainer,
  HexInputError,
  captureKind,
  parseHexPackets,
  readCapture,
  renderJson,
  renderText,
  type ExplainOptions,
  type ExplainedPacket,
  type StartLayer,
} from '@weft/explain';

const INPUT_HELP = `
input: hex on the command line (xxd -p style; spaces, colons and 0x allowed), a file of hex (one packet per line
or blocks separated by blank lines), a pcap or pcapng file (detected by its magic number), or - for stdin.
`;

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function explainProgram() {
  return cliProgram(
    'explain',
    'Decodes each packet layer by layer (Ethernet, IPv4/IPv6, UDP, VXLAN or flannel-udp, inner Ethernet and IP, ICMP/TCP/UDP, BGP on TCP 179) and prints offset, raw bytes, field, value, meaning and RFC section. Malformed packets are explained too: which field, at which offset, and what the receiver does (drop reason, NOTIFICATION).',
  )
    .usage('[options] HEX... | FILE | -')
    .argument('[input...]', 'hex, a file of hex, a pcap/pcapng file, or - for stdin')
    .option(
      '--json',
      'an array of packets, each an array of layers with fields {name, offset, length, hex, value, meaning, rfc} and problems',
    )
    .option(
      '--layer <L>',
      'where hex input starts: auto (default: IP if it looks like IP, else Ethernet), eth, ip, udp-payload, vxlan, flannel-udp, bgp',
    )
    .option('--vni <N>', "the receiver's VNI, to judge wrong-VNI drops (default 1)")
    .option('--vxlan-port <P>', 'UDP port decoded as VXLAN (repeatable; default 8472 and 4789)', collect)
    .option('--flannel-port <P>', 'UDP port decoded as flannel-udp (repeatable; default 8285)', collect)
    .option('--bgp-port <P>', 'TCP port decoded as BGP (default 179)')
    .addHelpText('after', INPUT_HELP);
}

const LAYERS: readonly StartLayer[] = ['auto', 'eth', 'ip', 'udp-payload', 'vxlan', 'flannel-udp', 'bgp'];

class UsageError extends Error {
  override name = 'UsageError';
}

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`not a port: ${text}`);
  return n;
}

function options(v: Record<string, string | boolean | string[] | undefined>): ExplainOptions {
  const o: ExplainOptions = {};
  if (v.layer !== undefined) {
    if (!LAYERS.includes(v.layer as StartLayer)) throw new UsageError(`--layer must be one of ${LAYERS.join(', ')}`);
    o.start = v.layer as StartLayer;
  }
  if (v.vni !== undefined) {
    const n = Number(v.vni);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffff) throw new UsageError('--vni must be 0..16777215');
    o.vni = n;
  }
  if (v['vxlan-port']) o.vxlanPorts = (v['vxlan-port'] as string[]).map(port);
  if (v['flannel-port']) o.flannelUdpPorts = (v['flannel-port'] as string[]).map(port);
  if (v['bgp-port'] !== undefined) o.bgpPort = port(v['bgp-port'] as string);
  return o;
}

/** Reads the input the positional arguments name and explains every packet in it. */
function explainInput(args: string[], opts: ExplainOptions): ExplainedPacket[] {
  const ex = new Explainer(opts);
  if (args.length === 1 && (args[0] === '-' || isFile(args[0]!))) {
    const bytes = readFileSync(args[0] === '-' ? 0 : args[0]!);
    if (captureKind(bytes)) return readCapture(bytes).map((p, i) => ex.explain(p.data, { ...p, number: i + 1 }));
    return parseHexPackets(bytes.toString('utf8')).map((p) => ex.explain(p));
  }
  return parseHexPackets(args.join(' ')).map((p) => ex.explain(p));
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `weft explain ...`; returns the exit code (0 explained, 1 unreadable input, 2 usage). */
export async function explainCommand(argv: string[]): Promise<number> {
  const parsed = parseCli(explainProgram(), argv);
  if (!parsed.ok) return parsed.code;
  const o = parsed.opts as {
    json?: boolean;
    layer?: string;
    vni?: string;
    vxlanPort?: string[];
    flannelPort?: string[];
    bgpPort?: string;
  };
  try {
    if (parsed.args.length === 0) throw new UsageError('no input (--help says what it reads)');
    const values = {
      layer: o.layer,
      vni: o.vni,
      'vxlan-port': o.vxlanPort,
      'flannel-port': o.flannelPort,
      'bgp-port': o.bgpPort,
    };
    const packets = explainInput(parsed.args, options(values));
    process.stdout.write(o.json ? renderJson(packets) : renderText(packets));
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`weft explain: ${e.message}\n`);
      return 2;
    }
    if (e instanceof HexInputError || e instanceof CaptureFormatError) {
      process.stderr.write(`weft explain: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
