import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Writable } from 'node:stream';
import { componentLogger, createLogger } from './support/internals.ts';

test('one JSON line per event, with node, component, level and ISO time', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ node: 'node-a', level: 'info', destination: sink });
  const lease = componentLogger(log, 'lease');
  lease.info({ subnet: '10.244.1.0/24' }, 'lease acquired');
  lease.debug('not at info level');
  log.warn('store unreachable');
  assert.is(lines.length, 2);
  const first = JSON.parse(lines[0]!);
  assert.is(first.node, 'node-a');
  assert.is(first.component, 'lease');
  assert.is(first.subnet, '10.244.1.0/24');
  assert.is(first.msg, 'lease acquired');
  assert.is(first.level, 30);
  assert.ok(!Number.isNaN(Date.parse(first.time)));
  assert.is(JSON.parse(lines[1]!).component, undefined);
});

test.run();
