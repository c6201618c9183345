// The native backend when the kernel refuses one route of a batch. `ip -batch` stops at the first refused line and
// names it ("Command failed -:N", checked against iproute2 in a namespace); before, the whole batch was recorded as
// installed, so /status listed routes that were not there, the lines after the refused one never ran, and a
// re-announcement of the refused route was skipped as already installed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpv4Prefix, parseIpv6Prefix } from '@weft/netaddr';
import { createLogger, RouteCommandError } from '../src/index.ts';
import { NativeNetwork } from './support/internals.ts';
import { RecordingLink } from './support/fake-node.ts';

/** iproute2's batch mode as it behaves: lines in order, stop at the first the kernel refuses, and say which. */
class RefusingLink extends RecordingLink {
  batches: string[][] = [];
  constructor(private readonly refuses: (line: string) => boolean) {
    super('192.0.2.1');
  }
  override async ipBatch(_log: unknown, lines: readonly string[]): Promise<void> {
    this.batches.push([...lines]);
    for (const [i, line] of lines.entries()) {
      if (this.refuses(line))
        throw new RouteCommandError(lines, `RTNETLINK answers: No route to host\nCommand failed -:${i + 1}\n`);
      this.lines.push(line);
    }
  }
}

const log = createLogger({ level: 'silent' });
const v4 = (subnet: string, via: string, type: 'added' | 'removed' = 'added') => ({
  type,
  subnet: parseIpv4Prefix(subnet),
  publicIp: via,
});
const v6 = (subnet: string, via: string, type: 'added' | 'removed' = 'added') => ({
  type,
  subnet: parseIpv6Prefix(subnet),
  publicIp: via,
});
const routesOf = (n: NativeNetwork) => n.status().routes.map((r) => `${r.subnet} via ${r.via}`);

async function rejection(p: Promise<unknown>): Promise<Error | null> {
  return p.then(
    () => null,
    (e: Error) => e,
  );
}

test('a refused route is not recorded, the lines after it still run, and the error names it', async () => {
  const link = new RefusingLink((l) => l.includes('::ffff:'));
  const n = new NativeNetwork({ log, link, iface: 'eth0', underlayMtu: 1500 });
  const err = await rejection(
    n.applyIpv6([
      v6('2001:db8:1::/64', '2001:db8::11'),
      v6('2001:db8:2::/64', '::ffff:192.0.2.102'),
      v6('2001:db8:3::/64', '2001:db8::13'),
    ]),
  );
  assert.instance(err, RouteCommandError);
  assert.equal((err as RouteCommandError).commands, [
    'route replace 2001:db8:2::/64 via ::ffff:192.0.2.102 dev eth0 proto static',
  ]);
  assert.equal(link.lines, [
    'route replace 2001:db8:1::/64 via 2001:db8::11 dev eth0 proto static',
    'route replace 2001:db8:3::/64 via 2001:db8::13 dev eth0 proto static',
  ]);
  assert.is(link.batches.length, 2, 'the rest ran as a second batch');
  assert.equal(routesOf(n), ['2001:db8:1::/64 via 2001:db8::11', '2001:db8:3::/64 via 2001:db8::13']);
});

test('a refused replace keeps the route that was there; announcing it again retries it', async () => {
  let refuse = true;
  const link = new RefusingLink((l) => refuse && l.includes('via 192.0.2.99'));
  const n = new NativeNetwork({ log, link, iface: 'eth0', underlayMtu: 1500 });
  await n.apply([v4('10.244.5.0/24', '192.0.2.5')]);
  assert.instance(await rejection(n.apply([v4('10.244.5.0/24', '192.0.2.99')])), RouteCommandError);
  assert.equal(routesOf(n), ['10.244.5.0/24 via 192.0.2.5'], 'the old next hop is still the kernel route');
  refuse = false;
  await n.apply([v4('10.244.5.0/24', '192.0.2.99')]);
  assert.equal(routesOf(n), ['10.244.5.0/24 via 192.0.2.99']);
  assert.is(link.lines.at(-1), 'route replace 10.244.5.0/24 via 192.0.2.99 dev eth0 proto static');
});

test('a refused del (the route is gone already) is no longer tracked; the next line still runs', async () => {
  const link = new RefusingLink((l) => l === 'route del 10.244.6.0/24');
  const n = new NativeNetwork({ log, link, iface: 'eth0', underlayMtu: 1500 });
  await n.apply([v4('10.244.6.0/24', '192.0.2.6'), v4('10.244.7.0/24', '192.0.2.7')]);
  await n.apply([v4('10.244.6.0/24', '192.0.2.6', 'removed'), v4('10.244.7.0/24', '192.0.2.7', 'removed')]);
  assert.equal(routesOf(n), []);
  assert.is(link.lines.at(-1), 'route del 10.244.7.0/24');
});

test('a failure that names no line (ip missing, a timeout) is thrown as it came', async () => {
  const link = new RecordingLink('192.0.2.1');
  link.ipBatch = async () => {
    throw new Error('spawn ip ENOENT');
  };
  const n = new NativeNetwork({ log, link, iface: 'eth0', underlayMtu: 1500 });
  const err = await rejection(n.apply([v4('10.244.8.0/24', '192.0.2.8')]));
  assert.is(err?.message, 'spawn ip ENOENT');
});

test.run();
