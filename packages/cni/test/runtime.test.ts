// The runtime driver (libcni's part) with two recording fake plugins written as shell scripts, no root: the order
// of ADD, CHECK and DEL through a chain, each plugin's stdin (the list's name and version, prevResult from the
// previous one), the CNI_* environment, the wrap prefix, a failing plugin stopping the chain, the result cache in
// memory and in a cache dir (a second driver DELs with the first one's result), and loadConfList's choice.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CniRuntime, loadConfList, type ConfList } from '@weft/cni';

const tmp = mkdtempSync(join(tmpdir(), 'lb-cni-rt-'));
const bin = join(tmp, 'bin');
const calls = join(tmp, 'calls.log');
mkdirSync(bin);
// Each fake appends "TYPE COMMAND ID NETNS IFNAME" and its stdin to the log, then answers a result naming itself.
for (const type of ['first', 'second', 'broken']) {
  const file = join(bin, type);
  writeFileSync(
    file,
    `#!/bin/sh
in="$(cat)"
echo "${type} $CNI_COMMAND $CNI_CONTAINERID $CNI_NETNS $CNI_IFNAME $WRAPPED" >>'${calls}'
echo "$in" >>'${calls}'
[ "${type}" = broken ] && { echo '{"code":7,"msg":"broken on purpose"}'; exit 1; }
[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.244.1.2/24"}],"by":"${type}"}'
exit 0
`,
  );
  chmodSync(file, 0o755);
}
const list: ConfList = { name: 'lbnet', cniVersion: '1.0.0', plugins: [{ type: 'first', x: 1 }, { type: 'second' }] };
const at = { containerId: 'lb-c1', netns: '/var/run/netns/lb-none' };
const wrap = ['env', 'WRAPPED=yes'];

function readCalls(): { head: string[]; stdin: Record<string, unknown> }[] {
  if (!existsSync(calls)) return [];
  const lines = readFileSync(calls, 'utf8').trimEnd().split('\n');
  rmSync(calls);
  const out = [];
  for (let i = 0; i + 1 < lines.length; i += 2)
    out.push({ head: lines[i]!.split(' '), stdin: JSON.parse(lines[i + 1]!) as Record<string, unknown> });
  return out;
}

test('ADD runs the chain in order, each plugin gets the previous result; CHECK in order; DEL in reverse', () => {
  const rt = new CniRuntime({ list, cniPath: `${join(tmp, 'none')}:${bin}`, wrap });
  const r = rt.add(at);
  assert.ok('result' in r, JSON.stringify(r));
  assert.is((r as { result: Record<string, unknown> }).result.by, 'second');
  const add = readCalls();
  assert.equal(
    add.map((c) => c.head),
    [
      ['first', 'ADD', 'lb-c1', '/var/run/netns/lb-none', 'eth0', 'yes'],
      ['second', 'ADD', 'lb-c1', '/var/run/netns/lb-none', 'eth0', 'yes'],
    ],
  );
  assert.equal(add[0]!.stdin, { type: 'first', x: 1, name: 'lbnet', cniVersion: '1.0.0' });
  assert.is((add[1]!.stdin.prevResult as { by: string }).by, 'first');
  assert.is(rt.check(at), null);
  const check = readCalls();
  assert.equal(
    check.map((c) => `${c.head[0]} ${c.head[1]}`),
    ['first CHECK', 'second CHECK'],
  );
  assert.is((check[0]!.stdin.prevResult as { by: string }).by, 'second', 'CHECK gets the cached ADD result');
  assert.is(rt.del(at), null);
  const del = readCalls();
  assert.equal(
    del.map((c) => `${c.head[0]} ${c.head[1]}`),
    ['second DEL', 'first DEL'],
  );
  assert.is((del[0]!.stdin.prevResult as { by: string }).by, 'second');
  assert.is(rt.del(at), null, 'a second DEL passes');
  assert.not.ok('prevResult' in readCalls()[0]!.stdin, 'and has no result to hand over');
});

test('a failing plugin stops the chain and is named; a missing one too', () => {
  const rt = new CniRuntime({ list: { ...list, plugins: [{ type: 'broken' }, { type: 'second' }] }, cniPath: bin });
  const r = rt.add(at);
  assert.ok('failed' in r);
  const f = r as { failed: string; run: { code: number; json: Record<string, unknown> | null } };
  assert.is(f.failed, 'broken');
  assert.is(f.run.code, 1);
  assert.is(f.run.json?.msg, 'broken on purpose');
  assert.equal(
    readCalls().map((c) => c.head[0]),
    ['broken'],
  );
  const none = new CniRuntime({ list: { ...list, plugins: [{ type: 'absent' }] }, cniPath: bin }).add(at);
  assert.ok('failed' in none && none.failed === 'absent' && /no plugin "absent"/.test(none.run.stderr));
});

test('with a cache dir, another driver (another process) DELs with the ADD result', () => {
  const cacheDir = join(tmp, 'cache');
  assert.ok('result' in new CniRuntime({ list, cniPath: bin, cacheDir }).add(at));
  readCalls();
  assert.is(new CniRuntime({ list, cniPath: bin, cacheDir }).del(at), null);
  const del = readCalls();
  assert.is((del[0]!.stdin.prevResult as { by: string }).by, 'second');
  assert.not.ok(existsSync(join(cacheDir, 'lbnet-lb-c1-eth0')), 'the cached result is gone after DEL');
});

test('loadConfList takes the first .conflist by name and refuses a directory without one', () => {
  const dir = join(tmp, 'net.d');
  mkdirSync(dir);
  assert.throws(() => loadConfList(dir), /no \.conflist/);
  writeFileSync(join(dir, '20-b.conflist'), JSON.stringify({ ...list, name: 'b' }));
  writeFileSync(join(dir, '10-a.conflist'), JSON.stringify({ ...list, name: 'a' }));
  writeFileSync(join(dir, '05-c.conf'), JSON.stringify({ ...list, name: 'c' }));
  assert.is(loadConfList(dir).name, 'a');
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
