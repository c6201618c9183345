// `npm run docs -- --only dual-stack` writes the dual-stack lesson (and an index linking it) from a live
// dual-stack vxlan lab on etcd, and removes the lab; the lesson's sources agree (support/dual-stack-doc.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run, canRunWith, listLabNamespaces } from '@weft/lab';
import { checkDualStack } from './support/dual-stack-doc.ts';

const PREFIX = 'v6bd';

if (canRunWith('npm run docs (dual stack)', ['tcpdump', 'npm', 'etcd', '/usr/lib/cni/bridge'])) {
  test('npm run docs -- --only dual-stack writes the dual-stack lesson from a live lab', async () => {
    const out = mkdtempSync(join(tmpdir(), 'v6bd-'));
    try {
      const args = ['--out', out, '--lab-prefix', PREFIX, '--only', 'dual-stack'];
      const r = await run(['npm', 'run', '--silent', 'docs', '--', ...args], {
        allowFailure: true,
        timeoutMs: 300_000,
      });
      assert.is(r.code, 0, r.stderr.slice(-3000));
      assert.equal(readdirSync(out).sort(), ['README.md', 'dual-stack.md']);
      const md = readFileSync(join(out, 'dual-stack.md'), 'utf8');
      assert.match(md.split('\n').slice(0, 6).join('\n'), /To regenerate.*`npm run docs`/s);
      checkDualStack(md);
      assert.match(readFileSync(join(out, 'README.md'), 'utf8'), /\[Dual stack.*\]\(dual-stack\.md\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    assert.equal(await listLabNamespaces(`${PREFIX}ds`), [], 'the lab is removed');
  });
}

test.run();
