import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatIpv4Prefix, tryParseIpv4Prefix } from '@weft/netaddr';
import {
  formatSubnetEnv,
  parseNetConfig,
  previousSubnetFromEnv,
  readSubnetEnv,
  subnetEnvValues,
  writeSubnetEnv,
} from './support/internals.ts';

const config = parseNetConfig('{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');

test('values as flannel writes them: the subnet with its first address', () => {
  const v = subnetEnvValues(config, tryParseIpv4Prefix('10.244.1.0/24')!, 1450, true);
  assert.equal(v, {
    FLANNEL_NETWORK: '10.244.0.0/16',
    FLANNEL_SUBNET: '10.244.1.1/24',
    FLANNEL_MTU: '1450',
    FLANNEL_IPMASQ: 'true',
  });
  assert.is(
    formatSubnetEnv(v),
    'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n',
  );
  const small = subnetEnvValues(
    parseNetConfig('{"Network":"10.0.0.0/8","SubnetLen":28}'),
    tryParseIpv4Prefix('10.9.8.16/28')!,
    1472,
    false,
  );
  assert.is(small.FLANNEL_SUBNET, '10.9.8.17/28');
});

test('write creates the directory, replaces the file whole and leaves no temp file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agt-env-'));
  try {
    const path = join(dir, 'run', 'flannel', 'subnet.env');
    writeSubnetEnv(path, subnetEnvValues(config, tryParseIpv4Prefix('10.244.1.0/24')!, 1450, false));
    assert.match(readFileSync(path, 'utf8'), /^FLANNEL_SUBNET=10\.244\.1\.1\/24$/m);
    writeFileSync(path, 'stale contents that are longer than the new file will be, by quite a lot\n'.repeat(20));
    writeSubnetEnv(path, subnetEnvValues(config, tryParseIpv4Prefix('10.244.7.0/24')!, 1400, false));
    const text = readFileSync(path, 'utf8');
    assert.is(text.split('\n').filter(Boolean).length, 4);
    assert.match(text, /^FLANNEL_SUBNET=10\.244\.7\.1\/24$/m);
    assert.equal(readdirSync(join(dir, 'run', 'flannel')), ['subnet.env']);
    // Read back on the next start, to ask for the same subnet again.
    const back = readSubnetEnv(path)!;
    assert.is(back.FLANNEL_MTU, '1400');
    assert.is(formatIpv4Prefix(previousSubnetFromEnv(back)!), '10.244.7.0/24');
    assert.is(readSubnetEnv(join(dir, 'missing.env')), null);
    assert.is(previousSubnetFromEnv({ FLANNEL_SUBNET: 'garbage' }), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
