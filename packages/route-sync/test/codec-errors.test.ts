// Every malformed case maps to the NOTIFICATION code/subcode RFC 4271 §6 names and the RFC 7606 handling.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BgpMessageError,
  ErrorHandling as H,
  HeaderErrorSubcode as Hdr,
  NotificationCode as N,
  OpenErrorSubcode as Open,
  UpdateErrorSubcode as Upd,
  AttrType,
  type CodecContext,
  type UpdateMessage,
} from '../src/index.ts';
import { decodeMessage } from '../src/codec/message.ts';
import { findAttribute, updateRoutes } from '../src/codec/resolve.ts';
import { MARKER, hex } from './fixtures/bgpc-hex.ts';

const CTX4: CodecContext = { fourOctetAs: true };

function message(type: number, body: string, lengthOverride?: number): Buffer {
  const b = hex(body);
  const len = lengthOverride ?? 19 + b.length;
  return Buffer.concat([hex(MARKER, len.toString(16).padStart(4, '0'), type.toString(16).padStart(2, '0')), b]);
}

/** One attribute TLV with a 1-byte length computed from the value. */
function attr(flags: number, type: number, value = ''): string {
  const v = hex(value);
  return [flags, type, v.length].map((x) => x.toString(16).padStart(2, '0')).join('') + v.toString('hex');
}

const ORIGIN = attr(0x40, 1, '00');
const AS_PATH = attr(0x40, 2, '');
const NEXT_HOP = attr(0x40, 3, 'c0000201');
const BASE = [ORIGIN, AS_PATH, NEXT_HOP];
const NLRI = '08 0a 18 c00002'; // 10.0.0.0/8, 192.0.2.0/24

function update(attrs: string[], nlri = NLRI, withdrawn = ''): Buffer {
  const a = hex(...attrs);
  const w = hex(withdrawn);
  return message(
    2,
    [
      w.length.toString(16).padStart(4, '0'),
      w.toString('hex'),
      a.length.toString(16).padStart(4, '0'),
      a.toString('hex'),
      nlri,
    ].join(''),
  );
}

function openBody(version = '04', hold = '005a', id = 'c0000201', params = '02 06 41 04 0000fc00'): string {
  const p = hex(params);
  return `${version} fc00 ${hold} ${id} ${p.length.toString(16).padStart(2, '0')} ${p.toString('hex')}`;
}

const mp = (flags: number, value: string) => attr(flags, 14, value);
const MP_REACH_V6 = '0002 01 10 20010db8000000000000000000000001 00 20 20010db8';

interface Case {
  name: string;
  bytes: Buffer;
  code: number;
  subcode: number;
  handling: H;
  data?: string;
  ctx?: CodecContext;
}

const cases: Case[] = [
  // RFC 4271 §6.1 Message Header Error: always session reset
  {
    name: 'marker not all ones',
    bytes: Buffer.concat([hex('fe'), message(4, '').subarray(1)]),
    code: N.MessageHeaderError,
    subcode: Hdr.ConnectionNotSynchronized,
    handling: H.SessionReset,
  },
  {
    name: 'length 18',
    bytes: message(4, '', 18),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
    data: '0012',
  },
  {
    name: 'length 4097',
    bytes: message(2, '0000 0000', 4097),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
    data: '1001',
  },
  {
    name: 'type 6',
    bytes: message(6, ''),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageType,
    handling: H.SessionReset,
    data: '06',
  },
  {
    name: 'KEEPALIVE of 20 bytes',
    bytes: message(4, '00'),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
    data: '0014',
  },
  {
    name: 'OPEN of 28 bytes',
    bytes: message(1, '04 fc00 005a c0000201'),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
  },
  {
    name: 'UPDATE of 22 bytes',
    bytes: message(2, '0000 00'),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
  },
  {
    name: 'NOTIFICATION of 20 bytes',
    bytes: message(3, '06'),
    code: N.MessageHeaderError,
    subcode: Hdr.BadMessageLength,
    handling: H.SessionReset,
  },
  {
    name: 'ROUTE-REFRESH of 24 bytes (RFC 7313 §5)',
    bytes: message(5, '0001 00 01 00'),
    code: N.RouteRefreshMessageError,
    subcode: 1,
    handling: H.SessionReset,
  },
  // RFC 4271 §6.2 OPEN Message Error
  {
    name: 'OPEN version 3',
    bytes: message(1, openBody('03')),
    code: N.OpenMessageError,
    subcode: Open.UnsupportedVersionNumber,
    handling: H.SessionReset,
    data: '0004',
  },
  {
    name: 'OPEN hold time 2',
    bytes: message(1, openBody('04', '0002')),
    code: N.OpenMessageError,
    subcode: Open.UnacceptableHoldTime,
    handling: H.SessionReset,
  },
  {
    name: 'OPEN BGP Identifier 0',
    bytes: message(1, openBody('04', '005a', '00000000')),
    code: N.OpenMessageError,
    subcode: Open.BadBgpIdentifier,
    handling: H.SessionReset,
  },
  {
    name: 'OPEN optional parameter 1',
    bytes: message(1, openBody('04', '005a', 'c0000201', '01 02 0000')),
    code: N.OpenMessageError,
    subcode: Open.UnsupportedOptionalParameter,
    handling: H.SessionReset,
    data: '01020000',
  },
  {
    name: 'OPEN Opt Parm Len past the end',
    bytes: message(1, '04 fc00 005a c0000201 09 02 06 41 04 0000fc00'),
    code: N.OpenMessageError,
    subcode: Open.Unspecific,
    handling: H.SessionReset,
  },
  {
    name: 'OPEN capability overruns its parameter',
    bytes: message(1, openBody('04', '005a', 'c0000201', '02 04 41 04 0000')),
    code: N.OpenMessageError,
    subcode: Open.Unspecific,
    handling: H.SessionReset,
  },
  {
    name: 'OPEN multiprotocol capability of 3 bytes',
    bytes: message(1, openBody('04', '005a', 'c0000201', '02 05 01 03 000101')),
    code: N.OpenMessageError,
    subcode: Open.Unspecific,
    handling: H.SessionReset,
  },
  // RFC 4271 §6.3 + RFC 7606: session reset
  {
    name: 'Withdrawn Routes Length overruns',
    bytes: message(2, '0010 0000'),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.SessionReset,
  },
  {
    name: 'Total Path Attribute Length overruns',
    bytes: message(2, '0000 0010 400101'),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.SessionReset,
  },
  {
    name: 'withdrawn prefix /33 (7606 §5.3)',
    bytes: update([], '', '21 0a000000 00'),
    code: N.UpdateMessageError,
    subcode: Upd.InvalidNetworkField,
    handling: H.SessionReset,
  },
  {
    name: 'NLRI prefix overruns (7606 §5.3)',
    bytes: update(BASE, '18 0a00'),
    code: N.UpdateMessageError,
    subcode: Upd.InvalidNetworkField,
    handling: H.SessionReset,
  },
  {
    name: 'MP_REACH IPv6 next hop length 5 (7606 §7.11)',
    bytes: update([mp(0x80, '0002 01 05 0102030405 00'), ORIGIN, AS_PATH], ''),
    code: N.UpdateMessageError,
    subcode: Upd.OptionalAttributeError,
    handling: H.SessionReset,
  },
  {
    name: 'MP_REACH of 4 bytes',
    bytes: update([mp(0x80, '0002 01 00'), ORIGIN, AS_PATH], ''),
    code: N.UpdateMessageError,
    subcode: Upd.OptionalAttributeError,
    handling: H.SessionReset,
  },
  {
    name: 'MP_REACH IPv6 prefix /129',
    bytes: update([mp(0x80, '0002 01 10 20010db8000000000000000000000001 00 81 00'), ORIGIN, AS_PATH], ''),
    code: N.UpdateMessageError,
    subcode: Upd.OptionalAttributeError,
    handling: H.SessionReset,
  },
  {
    name: 'MP_UNREACH prefix overruns',
    bytes: update([attr(0x80, 15, '0002 01 40 2001')], ''),
    code: N.UpdateMessageError,
    subcode: Upd.OptionalAttributeError,
    handling: H.SessionReset,
  },
  {
    name: 'MP_REACH twice (7606 §3.g)',
    bytes: update([mp(0x80, MP_REACH_V6), mp(0x80, MP_REACH_V6), ORIGIN, AS_PATH], ''),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.SessionReset,
  },
  {
    name: 'MP_REACH with the Transitive flag (7606 §3.c, §7.11)',
    bytes: update([mp(0xc0, MP_REACH_V6), ORIGIN, AS_PATH], ''),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeFlagsError,
    handling: H.SessionReset,
  },
  {
    name: 'unrecognized well-known attribute 31',
    bytes: update([...BASE, attr(0x40, 31, '07')]),
    code: N.UpdateMessageError,
    subcode: Upd.UnrecognizedWellKnownAttribute,
    handling: H.SessionReset,
    data: '401f0107',
  },
  // RFC 7606 treat-as-withdraw
  {
    name: 'ORIGIN 3 (7606 §7.1)',
    bytes: update([attr(0x40, 1, '03'), AS_PATH, NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.InvalidOriginAttribute,
    handling: H.TreatAsWithdraw,
    data: '40010103',
  },
  {
    name: 'ORIGIN of 2 bytes',
    bytes: update([attr(0x40, 1, '0000'), AS_PATH, NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'AS_PATH segment type 5 (7606 §7.2)',
    bytes: update([ORIGIN, attr(0x40, 2, '05 01 0000fc00'), NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'AS_PATH segment overruns',
    bytes: update([ORIGIN, attr(0x40, 2, '02 02 0000fc00'), NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'AS_PATH segment of 0 ASNs',
    bytes: update([ORIGIN, attr(0x40, 2, '02 00'), NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'AS_PATH with 1 stray byte',
    bytes: update([ORIGIN, attr(0x40, 2, '02 01 0000fc00 02'), NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'AS_PATH 2-octet on a 4-octet session',
    bytes: update([ORIGIN, attr(0x40, 2, '02 01 fc00'), NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'NEXT_HOP of 5 bytes (7606 §7.3)',
    bytes: update([ORIGIN, AS_PATH, attr(0x40, 3, 'c000020101')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'MED of 3 bytes (7606 §7.4)',
    bytes: update([...BASE, attr(0x80, 4, '000001')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'LOCAL_PREF empty (7606 §7.5)',
    bytes: update([...BASE, attr(0x40, 5, '')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'COMMUNITIES of 6 bytes (7606 §7.8)',
    bytes: update([...BASE, attr(0xc0, 8, 'fc0000640000')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'COMMUNITIES empty',
    bytes: update([...BASE, attr(0xc0, 8, '')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'ORIGINATOR_ID of 3 bytes (7606 §7.9)',
    bytes: update([...BASE, attr(0x80, 9, 'c00002')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'CLUSTER_LIST empty (7606 §7.10)',
    bytes: update([...BASE, attr(0x80, 10, '')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'EXTENDED_COMMUNITIES of 7 bytes (7606 §7.14)',
    bytes: update([...BASE, attr(0xc0, 16, '00020000000000')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'LARGE_COMMUNITY of 10 bytes (RFC 8092 §6)',
    bytes: update([...BASE, attr(0xc0, 32, '00000000000000000000')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'ORIGIN marked optional (7606 §3.c)',
    bytes: update([attr(0xc0, 1, '00'), AS_PATH, NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeFlagsError,
    handling: H.TreatAsWithdraw,
    data: 'c0010100',
  },
  {
    name: 'COMMUNITIES marked non-transitive',
    bytes: update([...BASE, attr(0x80, 8, 'fc000064')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeFlagsError,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'last attribute overruns the attribute field (7606 §4)',
    bytes: update([...BASE, '40 05 08 00000064']),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'two stray bytes after the attributes (7606 §4)',
    bytes: update([...BASE, '4005']),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.TreatAsWithdraw,
  },
  {
    name: 'ORIGIN missing with NLRI (7606 §3.d)',
    bytes: update([AS_PATH, NEXT_HOP]),
    code: N.UpdateMessageError,
    subcode: Upd.MissingWellKnownAttribute,
    handling: H.TreatAsWithdraw,
    data: '01',
  },
  {
    name: 'NEXT_HOP missing with NLRI',
    bytes: update([ORIGIN, AS_PATH]),
    code: N.UpdateMessageError,
    subcode: Upd.MissingWellKnownAttribute,
    handling: H.TreatAsWithdraw,
    data: '03',
  },
  {
    name: 'AS_PATH missing with MP_REACH',
    bytes: update([mp(0x80, MP_REACH_V6), ORIGIN], ''),
    code: N.UpdateMessageError,
    subcode: Upd.MissingWellKnownAttribute,
    handling: H.TreatAsWithdraw,
    data: '02',
  },
  // RFC 7606 attribute discard
  {
    name: 'ATOMIC_AGGREGATE of 1 byte (7606 §7.6)',
    bytes: update([...BASE, attr(0x40, 6, '00')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.AttributeDiscard,
  },
  {
    name: 'AGGREGATOR of 6 bytes on a 4-octet session (7606 §7.7)',
    bytes: update([...BASE, attr(0xc0, 7, 'fc00c0000201')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.AttributeDiscard,
  },
  {
    name: 'AGGREGATOR marked non-transitive',
    bytes: update([...BASE, attr(0x80, 7, '0000fc00c0000201')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeFlagsError,
    handling: H.AttributeDiscard,
  },
  {
    name: 'AS4_PATH malformed (RFC 6793 §6)',
    bytes: update([...BASE, attr(0xc0, 17, '02 02 0000fc00')]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAsPath,
    handling: H.AttributeDiscard,
  },
  {
    name: 'AS4_AGGREGATOR of 6 bytes',
    bytes: update([...BASE, attr(0xc0, 18, 'fc00c0000201')]),
    code: N.UpdateMessageError,
    subcode: Upd.AttributeLengthError,
    handling: H.AttributeDiscard,
  },
  {
    name: 'MED twice (7606 §3.g)',
    bytes: update([...BASE, attr(0x80, 4, '00000001'), attr(0x80, 4, '00000002')]),
    code: N.UpdateMessageError,
    subcode: Upd.MalformedAttributeList,
    handling: H.AttributeDiscard,
  },
];

for (const c of cases) {
  test(`malformed: ${c.name} -> ${c.code}/${c.subcode} ${H[c.handling]}`, () => {
    const ctx = c.ctx ?? CTX4;
    if (c.handling === H.SessionReset) {
      let err: unknown;
      try {
        decodeMessage(c.bytes, 0, ctx);
      } catch (e) {
        err = e;
      }
      assert.instance(err, BgpMessageError, 'throws BgpMessageError');
      const e = err as BgpMessageError;
      assert.is(e.name, 'BgpMessageError');
      assert.equal([e.code, e.subcode, e.handling], [c.code, c.subcode, c.handling], e.message);
      if (c.data !== undefined) assert.is(Buffer.from(e.data).toString('hex'), c.data);
      const n = e.toNotification();
      assert.equal([n.code, n.subcode], [c.code, c.subcode]);
      return;
    }
    const r = decodeMessage(c.bytes, 0, ctx);
    const msg = r!.message as UpdateMessage;
    assert.is(msg.handling, c.handling, 'handling on the message');
    const e = msg.errors!.find((x) => x.code === c.code && x.subcode === c.subcode);
    assert.ok(
      e,
      `error ${c.code}/${c.subcode} among ${msg.errors!.map((x) => `${x.subcode}:${x.message}`).join('; ')}`,
    );
    assert.is(e!.handling, c.handling);
    if (c.data !== undefined) assert.is(Buffer.from(e!.data).toString('hex'), c.data);
    const routes = updateRoutes(msg);
    const prefixes = msg.nlri.length + (findAttribute(msg.attributes, AttrType.MpReachNlri)?.nlri.length ?? 0);
    if (c.handling === H.TreatAsWithdraw) {
      assert.is(routes.announced.length, 0, 'nothing announced');
      assert.is(routes.withdrawn.length, prefixes, 'every prefix withdrawn instead');
      assert.ok(prefixes > 0, 'the case carries prefixes');
    } else {
      assert.is(
        routes.announced.reduce((n, a) => n + a.prefixes.length, 0),
        prefixes,
        'routes kept',
      );
    }
  });
}

test('attribute discard drops the bad attribute and keeps the rest; repeats keep the first copy', () => {
  const r = decodeMessage(
    update([...BASE, attr(0x40, 6, '00'), attr(0x80, 4, '00000001'), attr(0x80, 4, '00000002')]),
    0,
    CTX4,
  );
  const msg = r!.message as UpdateMessage;
  assert.is(findAttribute(msg.attributes, AttrType.AtomicAggregate), undefined);
  assert.is(findAttribute(msg.attributes, AttrType.MultiExitDisc)?.med, 1);
  assert.is(msg.attributes.length, 4);
});

test('valid cases carry no error: withdrawals only, attributes without NLRI, 2-octet AGGREGATOR on a 2-octet session', () => {
  for (const [bytes, ctx] of [
    [update([], '', '08 0a'), CTX4],
    [update([ORIGIN], ''), CTX4],
    [update([...BASE, attr(0xc0, 7, 'fc00c0000201')]), { fourOctetAs: false }],
    [update([...BASE, 'd0 63 0001 01']), CTX4], // unknown optional transitive with Extended Length on a short value
  ] as const) {
    const msg = decodeMessage(bytes, 0, ctx)!.message as UpdateMessage;
    assert.is(msg.handling, undefined, msg.errors?.map((e) => e.message).join('; '));
  }
});

test('extended messages: 4097 bytes is fine once negotiated', () => {
  const big = update([...BASE], '18c00002'.repeat(1019));
  assert.ok(big.length > 4096);
  assert.ok(decodeMessage(big, 0, { fourOctetAs: true, extendedMessage: true }));
  assert.throws(
    () => decodeMessage(big, 0, CTX4),
    (e: unknown) => e instanceof BgpMessageError && e.subcode === Hdr.BadMessageLength,
  );
});

test.run();
