// Fib6 against a reference derived from the prefixes themselves (bigint, linear, longest first): random prefixes
// of many lengths, nested on purpose, lookups of addresses inside and beside them, replacements and deletes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ipv6Mask, ipv6ToWords, type Ipv6Prefix } from '@weft/netaddr';
import { Fib6 } from '../src/fib6.ts';

let seed = 0x9e3779b9;
const rand32 = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return seed >>> 0;
};
const randAddr = () =>
  (BigInt(rand32()) << 96n) | (BigInt(rand32()) << 64n) | (BigInt(rand32()) << 32n) | BigInt(rand32());

function reference(routes: Map<string, { p: Ipv6Prefix; v: number }>, ip: bigint): number {
  let best = -1;
  let bestLen = -1;
  for (const { p, v } of routes.values())
    if ((ip & ipv6Mask(p.prefixLen)) === (p.ip & ipv6Mask(p.prefixLen)) && p.prefixLen > bestLen) {
      best = v;
      bestLen = p.prefixLen;
    }
  return best;
}

function lookup(fib: Fib6, ip: bigint): number {
  const w = new Uint32Array(4);
  ipv6ToWords(ip, w);
  return fib.lookup(w[0]!, w[1]!, w[2]!, w[3]!);
}

test('longest prefix per lookup, as the reference says, through adds, replacements and deletes', () => {
  const fib = new Fib6();
  const routes = new Map<string, { p: Ipv6Prefix; v: number }>();
  const base = 0xfd00_0010_0244_0000n << 64n;
  const lengths = [0, 8, 48, 56, 63, 64, 65, 96, 127, 128];
  const key = (p: Ipv6Prefix) => `${p.ip & ipv6Mask(p.prefixLen)}/${p.prefixLen}`;
  const probes: bigint[] = [];
  for (let i = 0; i < 400; i++) {
    const near = i % 2 === 0 ? base | (randAddr() & ((1n << 72n) - 1n)) : randAddr();
    const p = { ip: near, prefixLen: lengths[rand32() % lengths.length]! };
    const v = rand32() % 1000;
    fib.set(p, v);
    routes.set(key(p), { p, v });
    probes.push(near, near ^ 1n, near ^ (1n << 64n), randAddr());
  }
  assert.is(fib.size, routes.size);
  for (const ip of probes) assert.is(lookup(fib, ip), reference(routes, ip), `lookup ${ip.toString(16)}`);
  let removed = 0;
  for (const [k, r] of [...routes]) {
    if (rand32() % 2) continue;
    assert.ok(fib.delete(r.p), `delete ${k}`);
    assert.not.ok(fib.delete(r.p), 'twice is a no-op');
    routes.delete(k);
    removed++;
  }
  assert.ok(removed > 50);
  assert.is(fib.size, routes.size);
  for (const ip of probes) assert.is(lookup(fib, ip), reference(routes, ip), `after deletes ${ip.toString(16)}`);
});

test('host bits are ignored; a value must be a non-negative integer', () => {
  const fib = new Fib6();
  fib.set({ ip: (0xfd00n << 112n) | 0xffffn, prefixLen: 64 }, 3);
  assert.is(lookup(fib, (0xfd00n << 112n) | 0x1234n), 3);
  assert.is(lookup(fib, 0xfd01n << 112n), -1);
  assert.throws(() => fib.set({ ip: 0n, prefixLen: 0 }, -1), RangeError);
});

test.run();
