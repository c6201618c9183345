// What `weft trace` (and `npm run docs`) read from captures: the agents' pcapng files (`weft agent --pcap`,
// interface 0 "tun" = the inner IP packet, interface 1 "wire" = the datagram with its outer IPv4 or IPv6 and UDP
// header, as the underlay carried it) and a short tcpdump on a node's underlay eth0. Decoding is @weft/explain's:
// this module only picks out one ping.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { readCapture, Explainer, type CapturedPacket, type ExplainedPacket } from '@weft/explain';
import { echoFields } from './trace-family.ts';

/** One sighting of the traced ping in a capture. */
export interface PingLeg {
  /** "tun", "wire" (agent captures) or "eth0" (tcpdump on the underlay). */
  iface: string;
  direction?: 'inbound' | 'outbound';
  kind: 'request' | 'reply';
  /** Bytes captured: the inner IP packet on "tun", outer IP + UDP + payload on "wire", the Ethernet frame on "eth0". */
  length: number;
  ident: number;
  seq: number;
  timestamp: number;
  packet: ExplainedPacket;
  raw: CapturedPacket;
}

const fieldsNamed = (p: ExplainedPacket, name: string) => p.flatMap((l) => l.fields).filter((f) => f.name === name);
/** The innermost value of a field (the pod's packet when it is encapsulated). */
export const innermost = (p: ExplainedPacket, name: string) => fieldsNamed(p, name).at(-1)?.value;
export const outermost = (p: ExplainedPacket, name: string) => fieldsNamed(p, name)[0]?.value;
/** The outermost IP header's source or destination, IPv4 or IPv6 (an overlay's outer header, else the pod's). */
export const outerAddress = (p: ExplainedPacket, end: 'src' | 'dst') =>
  p.flatMap((l) => l.fields).find((f) => f.name === `ip.${end}` || f.name === `ipv6.${end}`)?.value;

/**
 * Reads `file` and returns the ICMP (or, for IPv6 `src`, ICMPv6) echo requests from `src` to `dst` and replies
 * back, captured at or after `since` (seconds since the epoch). A file the agent is still writing may end mid-block: the reader then fails
 * and the caller retries after the next flush, so errors propagate.
 */
export function pingLegs(file: string, since: number, src: string, dst: string): PingLeg[] {
  if (!existsSync(file)) return [];
  const ex = new Explainer();
  const legs: PingLeg[] = [];
  const f = echoFields(src.includes(':') ? 6 : 4);
  for (const raw of readCapture(readFileSync(file))) {
    if (raw.timestamp < since) continue;
    const packet = ex.explain(raw.data, raw);
    const type = innermost(packet, f.type);
    const [s, d] = [innermost(packet, f.src), innermost(packet, f.dst)];
    const kind =
      type === f.request && s === src && d === dst
        ? 'request'
        : type === f.reply && s === dst && d === src
          ? 'reply'
          : null;
    if (!kind) continue;
    legs.push({
      iface: raw.interfaceName ?? `if${raw.interfaceId}`,
      direction: raw.direction,
      kind,
      length: raw.data.length,
      ident: Number(innermost(packet, f.ident)),
      seq: Number(innermost(packet, f.seq)),
      timestamp: raw.timestamp,
      packet,
      raw,
    });
  }
  return legs;
}

/** pingLegs, retried a few times while the agent's once-a-second flush catches up (bounded: `tries` x 600 ms). */
export async function pingLegsSettled(
  file: string,
  since: number,
  src: string,
  dst: string,
  want: number,
  tries = 5,
): Promise<PingLeg[]> {
  let legs: PingLeg[] = [];
  for (let i = 0; i < tries; i++) {
    try {
      legs = pingLegs(file, since, src, dst);
      if (legs.length >= want) return legs;
    } catch {
      // mid-write: the next flush completes the block
    }
    await new Promise((r) => setTimeout(r, 600));
  }
  return legs;
}

/** A tcpdump writing `file` inside namespace `ns`; `ready` once it listens, `stop()` ends it by its PID. */
export class NamespaceCapture {
  readonly ready: Promise<void>;
  private readonly done: Promise<number>;
  private readonly child;

  constructor(
    ns: string,
    iface: string,
    filter: string,
    readonly file: string,
  ) {
    this.child = spawn(
      'ip',
      ['netns', 'exec', ns, 'tcpdump', '-i', iface, '--immediate-mode', '-U', '-n', '-s', '0', '-w', file, filter],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    this.done = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? 1)));
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tcpdump in ${ns} did not start within 5 s: ${err}`)), 5000);
      this.child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        if (err.includes('listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
      this.done.then(() => {
        clearTimeout(timer);
        reject(new Error(`tcpdump in ${ns} exited: ${err.trim()}`));
      });
    });
    this.ready.catch(() => {});
  }

  /** SIGTERM (tcpdump then writes its last packets), SIGKILL after 3 s; resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.done;
    clearTimeout(timer);
  }
}
