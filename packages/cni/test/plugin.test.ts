// The plugin's process contract in-process (runCniPlugin with an injected environment, stdin and stdout), for the
// paths that need no root and no delegate run: VERSION, every error object, DEL of an unknown container, nothing
// saved when ADD fails before the delegate. test/cni.test.ts drives the real thing with Debian's plugins.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCniPlugin } from '@weft/cni';

const tmp = mkdtempSync(join(tmpdir(), 'h10-cni-unit-'));
const dataDir = join(tmp, 'state');
const subnetFile = join(tmp, 'subnet.env');
writeFileSync(
  subnetFile,
  'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n',
);
const BASE_ENV = {
  CNI_CONTAINERID: 'ctr-1',
  CNI_NETNS: '/var/run/netns/none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: join(tmp, 'empty'),
};

function call(
  command: string,
  stdin: unknown,
  env: Record<string, string | undefined> = {},
): { code: number; out: Record<string, unknown> | null } {
  let text = '';
  const code = runCniPlugin({
    env: { ...BASE_ENV, CNI_COMMAND: command, ...env },
    readStdin: () => (typeof stdin === 'string' ? stdin : JSON.stringify(stdin)),
    writeStdout: (t) => {
      text += t;
    },
  });
  return { code, out: text ? (JSON.parse(text) as Record<string, unknown>) : null };
}

const conf = (extra: object = {}) => ({ cniVersion: '1.0.0', name: 'n', type: 'weft', subnetFile, dataDir, ...extra });

test('VERSION: the versions answered, in 1.0.0', () => {
  const r = call('VERSION', '');
  assert.is(r.code, 0);
  assert.equal(r.out, { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
});

test('each failure is an error object with its code, in the configuration version, and exit 1', () => {
  const cases: [string, string, unknown, Record<string, string | undefined>, number, RegExp][] = [
    ['unknown command', 'PING', conf(), {}, 4, /CNI_COMMAND "PING"/],
    ['bad JSON', 'ADD', '{"cniVersion"', {}, 6, /not JSON/],
    ['unknown version', 'ADD', conf({ cniVersion: '2.0.0' }), {}, 1, /2\.0\.0/],
    ['no container id', 'ADD', conf(), { CNI_CONTAINERID: undefined }, 4, /CNI_CONTAINERID is not set/],
    ['container id with a slash', 'ADD', conf(), { CNI_CONTAINERID: '../x' }, 4, /not a valid container ID/],
    ['no netns on ADD', 'ADD', conf(), { CNI_NETNS: '' }, 4, /CNI_NETNS/],
    ['missing subnet.env', 'ADD', conf({ subnetFile: join(tmp, 'none') }), {}, 11, /does not exist/],
    ['no bridge in CNI_PATH', 'ADD', conf(), {}, 4, /CNI_PATH has no plugin "bridge"/],
    ['CHECK without prevResult', 'CHECK', conf(), {}, 7, /prevResult/],
    ['CHECK with 0.3.1', 'CHECK', conf({ cniVersion: '0.3.1' }), {}, 1, /CHECK needs/],
  ];
  for (const [what, command, stdin, env, code, msg] of cases) {
    const r = call(command, stdin, env);
    assert.is(r.code, 1, what);
    assert.is(r.out?.code, code, `${what}: ${JSON.stringify(r.out)}`);
    assert.match(String(r.out?.msg), msg, what);
  }
  assert.is(call('ADD', conf({ cniVersion: '0.4.0', subnetFile: join(tmp, 'none') })).out?.cniVersion, '0.4.0');
  assert.not.ok(existsSync(join(dataDir, 'ctr-1')), 'an ADD that failed before the delegate saved nothing');
});

test('DEL of a container never added succeeds with no output, without CNI_PATH or CNI_NETNS', () => {
  const r = call('DEL', conf(), { CNI_PATH: undefined, CNI_NETNS: undefined });
  assert.is(r.code, 0);
  assert.is(r.out, null);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
