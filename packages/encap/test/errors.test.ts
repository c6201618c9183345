// Decoders outside the hot path throw typed errors: a class per kind with `name` set, the RFC section in the
// message, and the offset of the problem.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ArpFormatError,
  EncapError,
  IpHeaderError,
  MacAddressError,
  TruncatedError,
  VxlanFlagsError,
  decodeArp,
  decodeIpv4Header,
  decodeIpv6Header,
  decodeUdpHeader,
  decodeVxlanHeader,
  parseMac,
} from '../src/index.ts';
import { AddressFormatError } from '../src/errors.ts';
import { decodeEthernet } from '../src/ethernet.ts';
import { parseIpv4 } from '../src/ipv4.ts';
import { parseIpv6 } from '../src/ipv6.ts';

function throwsTyped(fn: () => unknown, cls: new (...a: never[]) => EncapError, offset: number, cite: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, cls);
    assert.instance(e, EncapError);
    const err = e as EncapError;
    assert.is(err.name, cls.name);
    assert.is(err.offset, offset, err.message);
    assert.match(err.message, cite);
    return;
  }
  assert.unreachable(`expected ${cls.name}`);
}

test('truncated input: TruncatedError at the header offset, citing the RFC', () => {
  const b = Buffer.alloc(100);
  throwsTyped(() => decodeVxlanHeader(b, 95), TruncatedError, 95, /RFC 7348 section 5/);
  throwsTyped(() => decodeVxlanHeader(b, 10, 7), TruncatedError, 10, /needs 8 bytes at offset 10, 7 present/);
  throwsTyped(() => decodeEthernet(b, 90), TruncatedError, 90, /IEEE 802\.3/);
  throwsTyped(() => decodeIpv4Header(b, 81), TruncatedError, 81, /RFC 791/);
  throwsTyped(() => decodeIpv6Header(b, 61), TruncatedError, 61, /RFC 8200/);
  throwsTyped(() => decodeUdpHeader(b, 93), TruncatedError, 93, /RFC 768/);
  throwsTyped(() => decodeArp(b, 73), TruncatedError, 73, /RFC 826/);
  throwsTyped(() => decodeArp(b, -1), TruncatedError, -1, /RFC 826/);
  const opts = Buffer.alloc(30);
  opts[0] = 0x46; // IHL 6: 24 bytes, only 20 in the window
  throwsTyped(() => decodeIpv4Header(opts, 0, 20), TruncatedError, 0, /options/);
});

test('field errors name the field and where it is', () => {
  throwsTyped(() => decodeVxlanHeader(Buffer.alloc(10), 2), VxlanFlagsError, 2, /I flag/);
  const ip = Buffer.alloc(40);
  ip[3] = 40;
  ip[0] = 0x65;
  throwsTyped(() => decodeIpv4Header(ip, 0), IpHeaderError, 0, /version 6, expected 4/);
  ip[0] = 0x44;
  throwsTyped(() => decodeIpv4Header(ip, 0), IpHeaderError, 0, /IHL 4/);
  ip[0] = 0x45;
  ip[3] = 10;
  throwsTyped(() => decodeIpv4Header(ip, 0), IpHeaderError, 2, /total length 10/);
  throwsTyped(() => decodeIpv6Header(ip, 0), IpHeaderError, 0, /expected 6/);
  const arp = Buffer.from('000108000604000302000af401000af40100000000000000af40200', 'hex');
  throwsTyped(() => decodeArp(Buffer.concat([arp, Buffer.alloc(1)]), 0), ArpFormatError, 0, /operation 3/);
});

test('text parsers point at the bad character', () => {
  throwsTyped(() => parseMac('02:00:0a:f4:01'), MacAddressError, 0, /5 groups/);
  throwsTyped(() => parseMac('02:00:0a:zz:01:00'), MacAddressError, 9, /RFC 7042/);
  throwsTyped(() => parseIpv4('10.244.300.1'), AddressFormatError, 7, /RFC 791/);
  throwsTyped(() => parseIpv6('fd00::1::2'), AddressFormatError, 7, /RFC 4291/);
  throwsTyped(() => parseIpv6('fd00:xyz::1'), AddressFormatError, 5, /RFC 4291/);
});

test.run();
