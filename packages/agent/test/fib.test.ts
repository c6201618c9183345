import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { ipv4Mask, tryParseIpv4, tryParseIpv4Prefix, type Ipv4Prefix } from '@weft/netaddr';
import { Fib } from '../src/fib.ts';

/** The obvious implementation: scan every route, keep the longest match. */
class SlowFib {
  readonly routes = new Map<string, { net: Ipv4Prefix; value: number }>();
  set(net: Ipv4Prefix, value: number): void {
    const ip = (net.ip & ipv4Mask(net.prefixLen)) >>> 0;
    this.routes.set(`${ip}/${net.prefixLen}`, { net: { ip, prefixLen: net.prefixLen }, value });
  }
  delete(net: Ipv4Prefix): boolean {
    return this.routes.delete(`${(net.ip & ipv4Mask(net.prefixLen)) >>> 0}/${net.prefixLen}`);
  }
  lookup(ip: number): number {
    let best = -1;
    let bestLen = -1;
    for (const { net, value } of this.routes.values()) {
      if ((ip & ipv4Mask(net.prefixLen)) >>> 0 === net.ip && net.prefixLen > bestLen) {
        best = value;
        bestLen = net.prefixLen;
      }
    }
    return best;
  }
}

const net = (text: string) => tryParseIpv4Prefix(text, { strict: false })!;
const ip = (text: string) => tryParseIpv4(text)!;

test('longest prefix wins, exact deletes, misses are -1', () => {
  const fib = new Fib();
  fib.set(net('10.244.0.0/16'), 1);
  fib.set(net('10.244.3.0/24'), 2);
  fib.set(net('10.244.3.128/25'), 3);
  assert.is(fib.lookup(ip('10.244.3.200')), 3);
  assert.is(fib.lookup(ip('10.244.3.5')), 2);
  assert.is(fib.lookup(ip('10.244.9.9')), 1);
  assert.is(fib.lookup(ip('192.0.2.1')), -1);
  assert.ok(fib.delete(net('10.244.3.128/25')));
  assert.not.ok(fib.delete(net('10.244.3.128/25')));
  assert.is(fib.lookup(ip('10.244.3.200')), 2);
  fib.set(net('0.0.0.0/0'), 7);
  assert.is(fib.lookup(ip('192.0.2.1')), 7);
  assert.is(fib.size, 3);
  assert.throws(() => fib.set(net('10.0.0.0/8'), -1), RangeError);
});

const op = fc.record({
  kind: fc.constantFrom('set', 'set', 'delete'),
  ip: fc.integer({ min: 0, max: 0xffffffff }),
  // Mostly cluster-like lengths, but every length occurs.
  len: fc.oneof(fc.constantFrom(16, 24, 24, 26), fc.integer({ min: 0, max: 32 })),
  value: fc.integer({ min: 0, max: 1000 }),
});

test('agrees with a naive scan on random route changes and lookups', () => {
  fc.assert(
    fc.property(
      fc.array(op, { maxLength: 300 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }),
      (ops, probes) => {
        const fast = new Fib();
        const slow = new SlowFib();
        for (const o of ops) {
          const n = { ip: o.ip, prefixLen: o.len };
          if (o.kind === 'set') {
            fast.set(n, o.value);
            slow.set(n, o.value);
          } else {
            assert.is(fast.delete(n), slow.delete(n));
          }
        }
        // Probe the random addresses and the routes' own addresses (which are guaranteed hits).
        for (const p of [...probes, ...ops.map((o) => o.ip)]) assert.is(fast.lookup(p >>> 0), slow.lookup(p >>> 0));
        assert.is(fast.size, slow.routes.size);
      },
    ),
    { numRuns: 500 },
  );
});

test('survives many deletes and re-adds (tombstones, rehash)', () => {
  const fib = new Fib();
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 200; i++) fib.set({ ip: (0x0af40000 + i * 256) >>> 0, prefixLen: 24 }, i);
    for (let i = 0; i < 200; i += 2) fib.delete({ ip: (0x0af40000 + i * 256) >>> 0, prefixLen: 24 });
  }
  assert.is(fib.size, 100);
  assert.is(fib.lookup(0x0af40105), 1);
  assert.is(fib.lookup(0x0af40205), -1);
});

test.run();
