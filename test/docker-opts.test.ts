// `weft docker-opts` without root: the variables flannel's mk-docker-opts.sh writes (both forms by default, -i,
// -c, -k, -m, long flags), the ip-masq inversion, --daemon-json, errors naming the file and key (exit 1) and bad
// flags (exit 2); the docker.service drop-in in agent/examples runs a command this weft accepts, passes what it
// writes to dockerd, and satisfies `systemd-analyze verify` beside Debian's docker.service and weft-agent.service.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haveCommand, run } from '@weft/lab';
import { main } from '../agent/src/main.ts';
import { DockerOptsError, parseSubnetEnvForDocker } from '../agent/src/docker-opts.ts';

const dir = mkdtempSync(join(tmpdir(), 'dk-opts-'));
const EXAMPLES = join(import.meta.dirname, '../agent/examples');
const DOCKER_UNIT = '/lib/systemd/system/docker.service';

function subnetEnv(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, lines.map((l) => `${l}\n`).join(''));
  return p;
}

const MASQ = subnetEnv('masq.env', [
  'FLANNEL_NETWORK=10.244.0.0/16',
  'FLANNEL_SUBNET=10.244.7.1/24',
  'FLANNEL_MTU=1450',
  'FLANNEL_IPMASQ=true',
]);
const NO_MASQ = subnetEnv('nomasq.env', [
  'FLANNEL_NETWORK=10.244.0.0/16',
  'FLANNEL_SUBNET=10.244.130.1/23',
  'FLANNEL_MTU=1472',
  'FLANNEL_IPMASQ=false',
]);

/** `weft ARGS` in this process, output captured. */
async function weft(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const saved = { stdout: process.stdout.write, stderr: process.stderr.write };
  process.stdout.write = ((c: string) => ((out.stdout += c), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => ((out.stderr += c), true)) as typeof process.stderr.write;
  try {
    return { code: await main(args), ...out };
  } finally {
    Object.assign(process.stdout, { write: saved.stdout });
    Object.assign(process.stderr, { write: saved.stderr });
  }
}

/** Runs docker-opts writing to a fresh file; returns the file's text. */
async function optsFile(args: string[]): Promise<string> {
  const dest = join(dir, `out-${Math.random().toString(36).slice(2)}.env`);
  const r = await weft(['docker-opts', ...args, '-d', dest]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, '', 'nothing on stdout when writing a file');
  return readFileSync(dest, 'utf8');
}

test('default: DOCKER_OPT_* lines then DOCKER_OPTS, docker masquerading only when the agent does not', async () => {
  assert.is(
    await optsFile(['-f', MASQ]),
    'DOCKER_OPT_BIP="--bip=10.244.7.1/24"\nDOCKER_OPT_IPMASQ="--ip-masq=false"\nDOCKER_OPT_MTU="--mtu=1450"\n' +
      'DOCKER_OPTS=" --bip=10.244.7.1/24 --ip-masq=false --mtu=1450"\n',
  );
  assert.is(
    await optsFile(['--subnet-file', NO_MASQ]),
    'DOCKER_OPT_BIP="--bip=10.244.130.1/23"\nDOCKER_OPT_IPMASQ="--ip-masq=true"\nDOCKER_OPT_MTU="--mtu=1472"\n' +
      'DOCKER_OPTS=" --bip=10.244.130.1/23 --ip-masq=true --mtu=1472"\n',
  );
});

test('-i, -c, -k, -m and their long forms', async () => {
  assert.is(await optsFile(['-f', MASQ, '-c']), 'DOCKER_OPTS=" --bip=10.244.7.1/24 --ip-masq=false --mtu=1450"\n');
  assert.is(
    await optsFile(['-f', MASQ, '-i', '-m']),
    'DOCKER_OPT_BIP="--bip=10.244.7.1/24"\nDOCKER_OPT_MTU="--mtu=1450"\n',
  );
  const combined = 'DOCKER_NETWORK_OPTIONS=" --bip=10.244.130.1/23 --mtu=1472"\n';
  assert.is(await optsFile(['-f', NO_MASQ, '-c', '-m', '-k', 'DOCKER_NETWORK_OPTIONS']), combined);
  assert.is(await optsFile(['-cmk', 'DOCKER_NETWORK_OPTIONS', `-f${NO_MASQ}`]), combined);
  assert.is(
    await optsFile(['--subnet-file', NO_MASQ, '--combined', '--no-ip-masq', '--key=DOCKER_NETWORK_OPTIONS']),
    combined,
  );
  assert.is((await optsFile(['-f', MASQ, '-i', '-c'])).split('\n').length, 5, 'both forms with -i -c');
});

test('-d - prints to stdout; --daemon-json prints a daemon.json fragment', async () => {
  const r = await weft(['docker-opts', '-f', MASQ, '-c', '-d', '-']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'DOCKER_OPTS=" --bip=10.244.7.1/24 --ip-masq=false --mtu=1450"\n');
  const j = await weft(['docker-opts', '-f', NO_MASQ, '--daemon-json']);
  assert.is(j.code, 0, j.stderr);
  assert.equal(JSON.parse(j.stdout), { bip: '10.244.130.1/23', mtu: 1472, 'ip-masq': true });
  const m = await weft(['docker-opts', '-f', MASQ, '--daemon-json', '-m']);
  assert.equal(JSON.parse(m.stdout), { bip: '10.244.7.1/24', mtu: 1450 });
  assert.equal(JSON.parse(await optsFile(['-f', MASQ, '--daemon-json'])), {
    bip: '10.244.7.1/24',
    mtu: 1450,
    'ip-masq': false,
  });
});

test('a missing or malformed subnet.env: exit 1, one line naming the file (and the key), nothing written', async () => {
  const cases: [string, RegExp][] = [
    [join(dir, 'absent.env'), /absent\.env does not exist: is the weft agent/],
    [
      subnetEnv('no-mtu.env', ['FLANNEL_NETWORK=10.244.0.0/16', 'FLANNEL_SUBNET=10.244.1.1/24', 'FLANNEL_IPMASQ=true']),
      /no-mtu\.env: FLANNEL_MTU is missing/,
    ],
    [
      subnetEnv('bad-masq.env', [
        'FLANNEL_NETWORK=10.244.0.0/16',
        'FLANNEL_SUBNET=10.244.1.1/24',
        'FLANNEL_MTU=1450',
        'FLANNEL_IPMASQ=yes',
      ]),
      /bad-masq\.env: FLANNEL_IPMASQ=yes is not true or false/,
    ],
    [
      subnetEnv('outside.env', [
        'FLANNEL_NETWORK=10.244.0.0/16',
        'FLANNEL_SUBNET=10.9.1.1/24',
        'FLANNEL_MTU=1450',
        'FLANNEL_IPMASQ=true',
      ]),
      /outside\.env: FLANNEL_SUBNET is not inside/,
    ],
    [
      subnetEnv('v6.env', [
        'FLANNEL_IPV6_NETWORK=fd00:10::/56',
        'FLANNEL_IPV6_SUBNET=fd00:10:0:1::/64',
        'FLANNEL_MTU=1450',
        'FLANNEL_IPMASQ=true',
      ]),
      /v6\.env: no IPv4 FLANNEL_SUBNET/,
    ],
    [subnetEnv('empty.env', []), /empty\.env: FLANNEL_NETWORK and FLANNEL_SUBNET .*missing/],
  ];
  for (const [file, why] of cases) {
    const dest = join(dir, 'never.env');
    const r = await weft(['docker-opts', '-f', file, '-d', dest]);
    assert.is(r.code, 1, file);
    assert.match(r.stderr, why);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.not.ok(existsSync(dest), 'no output file');
  }
  try {
    parseSubnetEnvForDocker('FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=9\n', 'x.env');
    assert.unreachable('FLANNEL_MTU=9 parsed');
  } catch (e) {
    assert.instance(e, DockerOptsError);
    assert.is((e as DockerOptsError).name, 'DockerOptsError');
    assert.is((e as DockerOptsError).file, 'x.env');
    assert.is((e as DockerOptsError).failure, 'malformed');
  }
});

test('bad flags exit 2 with one line; --help exits 0 and lists the flannel flags', async () => {
  for (const args of [['-x'], ['-k', 'NOT-A-NAME'], ['-k', '1X'], ['extra'], ['-f']]) {
    const r = await weft(['docker-opts', ...args, '-d', join(dir, 'never.env')]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  const h = await weft(['docker-opts', '--help']);
  assert.is(h.code, 0);
  for (const flag of [
    '-f, --subnet-file',
    '-d, --dest-file',
    '-i',
    '-c',
    '-k, --key',
    '-m, --no-ip-masq',
    '--daemon-json',
  ])
    assert.ok(h.stdout.includes(flag), flag);
  assert.ok((await weft(['--help'])).stdout.includes('docker-opts'), 'weft --help lists it');
});

test('the docker.service drop-in: its ExecStartPre works with this weft, ExecStart passes the result, systemd accepts it', async () => {
  const conf = readFileSync(join(EXAMPLES, 'docker-weft.conf'), 'utf8');
  const pre = /^ExecStartPre=\S+ \S+\/agent\/bin\/weft\.mjs (.*)$/m.exec(conf);
  assert.ok(pre, 'ExecStartPre runs weft.mjs');
  const argv = pre[1]!.split(' ');
  const key = argv[argv.indexOf('-k') + 1]!;
  const dest = argv[argv.indexOf('-d') + 1]!;
  assert.match(conf, new RegExp(`^EnvironmentFile=-?${dest.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(conf, new RegExp(`^ExecStart=/usr/sbin/dockerd .*\\$${key}(\\s|$)`, 'm'));
  // The same arguments, reading a test subnet.env and writing a test file.
  argv[argv.indexOf('-d') + 1] = join(dir, 'dropin.env');
  const r = await weft(['docker-opts', '-f', MASQ, ...argv.slice(1)]);
  assert.is(r.code, 0, r.stderr);
  assert.is(
    readFileSync(join(dir, 'dropin.env'), 'utf8'),
    `${key}=" --bip=10.244.7.1/24 --ip-masq=false --mtu=1450"\n`,
  );

  if (haveCommand('systemd-analyze') && existsSync(DOCKER_UNIT) && existsSync('/usr/bin/node')) {
    const units = join(dir, 'units');
    mkdirSync(join(units, 'docker.service.d'), { recursive: true });
    copyFileSync(DOCKER_UNIT, join(units, 'docker.service'));
    copyFileSync(join(EXAMPLES, 'weft-agent.service'), join(units, 'weft-agent.service'));
    copyFileSync(join(EXAMPLES, 'docker-weft.conf'), join(units, 'docker.service.d', 'weft.conf'));
    const verify = (file: string) =>
      run(['systemd-analyze', 'verify', '--man=no', file], {
        allowFailure: true,
        env: { ...process.env, SYSTEMD_UNIT_PATH: `${units}:` },
      });
    const ok = await verify(join(units, 'docker.service'));
    assert.is(ok.code, 0, ok.stderr);
    // The check can fail: two ExecStart= lines without the empty reset are refused.
    writeFileSync(join(units, 'docker.service.d', 'weft.conf'), conf.replace(/^ExecStart=$/m, ''));
    const bad = await verify(join(units, 'docker.service'));
    assert.is.not(bad.code, 0, 'a drop-in without ExecStart= passed');
  } else console.log('docker-opts: systemd-analyze or Debian docker.service missing, drop-in not verified');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
