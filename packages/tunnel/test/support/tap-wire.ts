// One write through weft's TAP read back twice: by a capture on the kernel peer's underlay (tshark) and by the
// peer's own counters (flannel's device, the UDP and TCP MIBs of its namespace).
//
// Design notes: weft's underlay veth is tested both ways. At its defaults the veth carries a UDP-tunnel GSO
// super-packet whole (MEASUREMENTS.md, "What a kernel VTEP sends over a virtual link"), so the capture may show
// one super-frame, or any run of them, with checksums still partial (a seed the receiving kernel trusts, never
// verifies). What holds then: every byte once and in order, in whole segments, all of it at the receiver; the
// plain packet's checksums are full and checked by tshark and by the receiver. With tx offloads off on weft's
// veth the kernel cuts and checksums in software: each segment is checked exactly, checksums verified twice.
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { tsharkFields, TSHARK_CHECK_CHECKSUMS, type Netns } from '@weft/lab';
import { PacketBatch, type TapSender } from '../../src/index.ts';
import { FIRST_SEQ, SLOT, putInner, type TapFamily, type TapLab, type WeftOffloads } from './tap-lab.ts';

/** One frame from weft's address as tshark decodes the capture on b's eth0 (a field a frame lacks reads 0). */
interface CapturedFrame {
  frameLen: number;
  sourcePort: number;
  vni: number;
  seq: number;
  tcpLen: number;
  /** tshark's checksum status: 1 good, 0 bad (a partial checksum reads bad). */
  udpChecksum: number;
  tcpChecksum: number;
  /** The outer TTL or hop limit. */
  hopLimit: number;
}

/** What b counted while weft wrote: packets and bytes on flannel's device, UDP and TCP error counters. */
interface Received {
  packets: number;
  bytes: number;
  errors: Record<string, number>;
}

/** MIB counters of b's namespace that count datagrams or segments dropped for a bad checksum or length. */
const ERROR_COUNTERS = [
  'UdpInCsumErrors',
  'UdpInErrors',
  'Udp6InCsumErrors',
  'Udp6InErrors',
  'TcpInCsumErrors',
  'TcpInErrs',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function receiverCounters(b: Netns, dev: string): Promise<Received> {
  const link = JSON.parse((await b.ip(['-s', '-j', 'link', 'show', dev])).stdout) as {
    stats64: { rx: { packets: number; bytes: number } };
  }[];
  // Absolute values (-a), zeros included (-z), nstat's history file left alone (-s).
  const mibs = JSON.parse((await b.exec(['nstat', '-asz', '--json'])).stdout) as { kernel: Record<string, number> };
  const errors = Object.fromEntries(ERROR_COUNTERS.map((name) => [name, mibs.kernel[name] ?? 0]));
  return { packets: link[0]!.stats64.rx.packets, bytes: link[0]!.stats64.rx.bytes, errors };
}

/**
 * Writes `batch` through `tap` while tcpdump captures UDP port 8472 on b's eth0 (bounded: 30 s at most).
 * Returns what write() returned, the frames sent from weft's address in capture order, and what b's flannel
 * device and MIBs counted meanwhile (differences). `label` names the capture file in the scope's directory.
 */
async function sendCaptured(
  lab: TapLab,
  fam: TapFamily,
  tap: TapSender,
  batch: PacketBatch,
  label: string,
): Promise<{ written: number; frames: CapturedFrame[]; received: Received }> {
  const pcap = join(lab.scope.dir, `${label}.pcap`);
  const argv = ['timeout', '30', 'tcpdump', '--immediate-mode', '-ni', 'eth0', '-s', '0', '-U', '-w', pcap];
  const dump = lab.scope.spawn(`tcpdump-${label}`, lab.b, [...argv, 'udp', 'port', '8472']);
  for (let k = 0; k < 200 && !/listening on/.test(dump.log()); k++) await sleep(50);
  assert.match(dump.log(), /listening on/, 'tcpdump is capturing');
  await sleep(200);
  const before = await receiverCounters(lab.b, fam.vtep);
  const written = tap.write(batch);
  await sleep(500);
  await dump.stop();
  const after = await receiverCounters(lab.b, fam.vtep);
  const ip = fam.family === 4 ? 'ip' : 'ipv6';
  const fields = ['frame.len', 'udp.srcport', 'vxlan.vni', 'tcp.seq_raw', 'tcp.len', 'udp.checksum.status'];
  const rows = await tsharkFields(pcap, [...fields, 'tcp.checksum.status', fam.family === 4 ? 'ip.ttl' : 'ipv6.hlim'], {
    decodeAs: ['udp.port==8472,vxlan'],
    prefs: TSHARK_CHECK_CHECKSUMS,
    filter: `${ip}.src == ${fam.source}`,
  });
  const frames = rows.map((row) => {
    const [frameLen, sourcePort, vni, seq, tcpLen, udpChecksum, tcpChecksum, hopLimit] = row.map((f) =>
      Number(f.split(',')[0]),
    );
    return { frameLen, sourcePort, vni, seq, tcpLen, udpChecksum, tcpChecksum, hopLimit } as CapturedFrame;
  });
  const errors = Object.fromEntries(ERROR_COUNTERS.map((n) => [n, after.errors[n]! - before.errors[n]!]));
  return {
    written,
    frames,
    received: { packets: after.packets - before.packets, bytes: after.bytes - before.bytes, errors },
  };
}

/** Every write() counter but the three given is zero. */
function assertTapStats(
  tap: TapSender,
  counts: { txPackets: number; txSuperPackets: number; txMalformed: number },
): void {
  assert.equal(tap.stats(), { ...counts, txErrors: 0, txTooBig: 0, txUnknownPeer: 0, txSplitSuperPackets: 0 });
}

/**
 * The frames of one super-packet carrying `payload` bytes. Either way: VNI 1, the outer TTL or hop limit one less
 * than the TAP's 65, every byte once and in order, in whole segments of `fam.mss`. With tx offloads off on weft's
 * veth, also one standard frame per MSS with both checksums good.
 */
function assertSuperOnWire(frames: CapturedFrame[], fam: TapFamily, payload: number, mode: WeftOffloads): void {
  assert.ok(frames.length > 0, 'the super-packet left');
  let next = FIRST_SEQ;
  frames.forEach((f, k) => {
    assert.is(f.vni, 1, `frame ${k}: VNI 1`);
    assert.is(f.hopLimit, 64, `frame ${k}: outer TTL/hop limit 64 on the wire`);
    assert.is(f.seq, next, `frame ${k}: sequence number`);
    const whole = f.tcpLen % fam.mss === 0 || f.seq + f.tcpLen === FIRST_SEQ + payload;
    assert.ok(f.tcpLen > 0 && whole, `frame ${k}: ${f.tcpLen} bytes, whole segments`);
    next += f.tcpLen;
  });
  assert.is(next - FIRST_SEQ, payload, 'every payload byte on the wire, once');
  if (mode === 'defaults') return; // super-frames may carry partial checksums: the receiver's counts speak
  assert.is(frames.length, Math.ceil(payload / fam.mss), 'one frame per MSS');
  frames.forEach((f, k) => {
    assert.ok(f.frameLen <= 1514, `segment ${k}: ${f.frameLen} bytes on the wire`);
    assert.is(f.tcpLen, Math.min(fam.mss, payload - k * fam.mss), `segment ${k}: payload`);
    assert.is(f.udpChecksum, 1, `segment ${k}: outer UDP checksum good`);
    assert.is(f.tcpChecksum, 1, `segment ${k}: inner TCP checksum good`);
  });
}

/** A plain packet of `payload` bytes: one frame, VNI 1, its checksums completed by weft (good either way). */
function assertPlainOnWire(frames: CapturedFrame[], payload: number): void {
  const seen = frames.map((f) => [f.tcpLen, f.vni, f.udpChecksum, f.tcpChecksum]);
  assert.equal(seen, [[payload, 1, 1, 1]], 'the plain packet as one frame, checksums good');
}

/**
 * b's side: flannel's device took one packet per frame weft sent (`frames`) and, headers aside, exactly
 * `payload` bytes; no UDP or TCP checksum or receive error in b. The segments' checksums are verified here only
 * when they arrive complete (tx offloads off); a super-frame's partial ones the kernel trusts.
 */
function assertReceived(received: Received, frames: readonly CapturedFrame[], fam: TapFamily, payload: number): void {
  assert.is(received.packets, frames.length, `${fam.vtep} took one packet per frame on the wire`);
  assert.is(received.bytes - received.packets * fam.innerHeaders, payload, `${fam.vtep} took every payload byte`);
  const zeros = Object.fromEntries(ERROR_COUNTERS.map((n) => [n, 0]));
  assert.equal(received.errors, zeros, 'no checksum or receive errors in b');
}

/**
 * The wire test both families run: through `tap` (peer 0 = b), a 20000-byte TCP super-packet (UDP source port
 * 50001), a plain 100-byte packet (50002) and, with `malformed`, a super-packet whose checksum offset lies beyond
 * it (50003); checks write()'s count and counters, the capture and b's counters.
 */
export async function sendAndCheck(
  lab: TapLab,
  fam: TapFamily,
  tap: TapSender,
  mode: WeftOffloads,
  malformed: boolean,
): Promise<void> {
  const batch = new PacketBatch(4, SLOT);
  putInner(batch, 0, fam, 20000, true);
  putInner(batch, 1, fam, 100, false);
  if (malformed) putInner(batch, 2, fam, 3000, true, 60000);
  batch.count = malformed ? 3 : 2;
  tap.sourcePorts.set([50001, 50002, 50003].slice(0, batch.count));
  const { written, frames, received } = await sendCaptured(lab, fam, tap, batch, `wire${fam.family}`);
  assert.is(written, batch.count, 'write() handled all');
  assertTapStats(tap, { txPackets: 2, txSuperPackets: 1, txMalformed: malformed ? 1 : 0 });
  assertSuperOnWire(
    frames.filter((f) => f.sourcePort === 50001),
    fam,
    20000,
    mode,
  );
  assertPlainOnWire(
    frames.filter((f) => f.sourcePort === 50002),
    100,
  );
  assert.not.ok(
    frames.some((f) => f.sourcePort === 50003),
    'the malformed one never left',
  );
  assertReceived(received, frames, fam, 20000 + 100);
}
