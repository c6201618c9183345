// `weft agent` started the way a flanneld unit starts flanneld: Go-syntax flags, FLANNELD_* variables, no --iface
// (the default route's interface), a NOTIFY_SOCKET. Ready means READY=1 arrives, with subnet.env already written;
// then /readyz answers on --healthz-ip:--healthz-port from another host, /status and /metrics only on loopback,
// metric names without a doubled prefix, and weft_build_info.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabScope, canRunPrivileged, type Netns } from '@weft/lab';
import { httpGetIn, weftArgv } from 'weft/lab';
import { notifySocket, type NotifySocket } from './support/notify-socket.ts';

const HEALTHZ_PORT = 8471;
const METRICS_PORT = 9465;

/** A node namespace whose only route out is a default route via a second namespace (gw) on eth0. */
async function nodeWithDefaultRoute(scope: LabScope): Promise<{ node: Netns; gw: Netns }> {
  const node = await scope.netns('node');
  const gw = await scope.netns('gw');
  await scope.veth(node, 'eth0', gw, 'eth0');
  await node.ip(['addr', 'add', '192.0.2.10/24', 'dev', 'eth0']);
  await gw.ip(['addr', 'add', '192.0.2.1/24', 'dev', 'eth0']);
  await node.ip(['route', 'add', 'default', 'via', '192.0.2.1']);
  return { node, gw };
}

/** What answers where once the agent is ready: health on the network, status and metrics on loopback only. */
async function checkEndpoints(node: Netns, gw: Netns): Promise<void> {
  assert.is(await httpGetIn(gw, `http://192.0.2.10:${HEALTHZ_PORT}/readyz`), 'ready\n', '/readyz from another host');
  assert.is(
    await httpGetIn(gw, `http://192.0.2.10:${HEALTHZ_PORT}/status`),
    null,
    'the healthz server serves health only',
  );
  assert.is(await httpGetIn(gw, `http://192.0.2.10:${METRICS_PORT}/status`), null, '/status is not on the network');
  const status = JSON.parse((await httpGetIn(node, `http://127.0.0.1:${METRICS_PORT}/status`)) ?? 'null') as {
    lease: { publicIp: string };
  };
  assert.is(status.lease.publicIp, '192.0.2.10');
  const metrics = (await httpGetIn(node, `http://127.0.0.1:${METRICS_PORT}/metrics`)) ?? '';
  assert.match(metrics, /^weft_process_cpu_seconds_total /m);
  assert.not.match(metrics, /weft_process_process_/);
  assert.match(metrics, /^weft_build_info\{version="\d+\.\d+\.\d+",node_version="v\d+[^"]*"\} 1$/m);
}

/** The command line, subnet.env path and notify socket of the agent under test. */
async function flanneldStyle(scope: LabScope): Promise<{ argv: string[]; subnetEnv: string; notify: NotifySocket }> {
  const netConf = join(scope.dir, 'net-conf.json');
  writeFileSync(netConf, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}');
  const subnetEnv = join(scope.dir, 'subnet.env');
  const notify = await notifySocket(scope.dir, 90);
  const argv = weftArgv(
    'agent',
    `-net-config-path=${netConf}`,
    '-ip-masq=false',
    '--iptables-forward-rules=false',
    '--healthz-ip',
    '192.0.2.10',
    `--healthz-port=${HEALTHZ_PORT}`,
    '--store',
    `embedded:${join(scope.dir, 'leases.db')}`,
    '--no-super-packets',
  );
  return { argv, subnetEnv, notify };
}

if (canRunPrivileged('weft agent with a flanneld command line in a namespace')) {
  test('flanneld-style start: ready on the notify socket, healthz outside, status on loopback', async () => {
    const scope = new LabScope('h7-agent');
    try {
      const { node, gw } = await nodeWithDefaultRoute(scope);
      const { argv, subnetEnv, notify } = await flanneldStyle(scope);
      const env = {
        ...process.env,
        NOTIFY_SOCKET: notify.path,
        FLANNELD_SUBNET_FILE: subnetEnv,
        FLANNELD_SUBNET_LEASE_RENEW_MARGIN: '30',
      };
      const agent = scope.spawn('agent', node, argv, env);
      const messages = await notify.messages;
      const log = readFileSync(agent.logFile, 'utf8');
      assert.ok(
        messages.some((m) => m.split('\n').includes('READY=1')),
        `READY=1 never came: ${JSON.stringify(messages)}\n${log}`,
      );
      assert.ok(existsSync(subnetEnv), 'subnet.env (from FLANNELD_SUBNET_FILE) is in place before READY=1');
      assert.match(readFileSync(subnetEnv, 'utf8'), /FLANNEL_SUBNET=10\.244\.\d+\.1\/24/);
      assert.match(log, /underlay interface eth0 chosen by the default route/);

      await checkEndpoints(node, gw);
      assert.is(await agent.stop(10_000), 0, 'clean stop on SIGTERM');
    } finally {
      await scope.cleanup();
    }
  });
}

test.run();
