// A daemon a lab starts (BIRD forks away from the process that started it) is known to its LabScope only by its
// PID file: cleanup(), and the SIGINT handler (a Ctrl-C mid-soak), must end it, and remove the PID files of
// everything they end. Run with `child DIR` this file is the process that gets the SIGINT.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LabScope } from '../src/index.ts';

/** Starts `sleep 60` the way a daemon starts: from a shell that exits at once, PID written to `pidFile`. */
function startDaemon(pidFile: string): number {
  spawnSync('sh', ['-c', `sleep 60 >/dev/null 2>&1 & echo $! > ${pidFile}`]);
  return Number(readFileSync(pidFile, 'utf8').trim());
}

/** Alive and not a zombie (an orphan's parent may be slow to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  return !alive(pid);
}

async function child(): Promise<void> {
  const scope = new LabScope('sk-daemon-sigint');
  const daemon = startDaemon(join(scope.dir, 'd.pid'));
  scope.adoptDaemon(join(scope.dir, 'd.pid'), 'sleep');
  const bg = scope.spawn('bg', null, ['sleep', '60']);
  console.log(`READY ${daemon} ${bg.pid}`);
  await sleep(30_000); // bounded: the test sends SIGINT long before
}

if (process.argv[2] === 'child') {
  await child();
} else {
  test('cleanup ends an adopted daemon by its PID file and removes the file', async () => {
    const scope = new LabScope('sk-daemon');
    const pidFile = join(scope.dir, 'd.pid');
    const pid = startDaemon(pidFile);
    scope.adoptDaemon(pidFile, 'sleep');
    assert.ok(alive(pid), 'the daemon runs');
    await scope.cleanup();
    assert.ok(await gone(pid), 'the daemon was ended');
    assert.not.ok(existsSync(pidFile), 'its PID file is gone');
  });

  test('a PID file whose process runs something else is left alone', async () => {
    const scope = new LabScope('sk-daemon-other');
    const pidFile = join(scope.dir, 'd.pid');
    const pid = startDaemon(pidFile); // a sleep, adopted as if it were BIRD
    scope.adoptDaemon(pidFile, 'bird');
    await scope.cleanup();
    try {
      assert.ok(alive(pid), 'a process that is not `bird` was not signalled');
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  });

  test('SIGINT mid-run: the daemon and the background process end, no PID file is left', async () => {
    const self = fileURLToPath(import.meta.url);
    const c = spawn(process.execPath, ['--import', 'tsx', self, 'child'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => (out += d));
    for (let i = 0; i < 200 && !out.includes('READY'); i++) await sleep(100);
    const [daemon, bg] = (/READY (\d+) (\d+)/.exec(out) ?? []).slice(1).map(Number);
    assert.ok(daemon && bg, `the child started both (${out})`);
    const exited = new Promise<number | null>((r) => c.on('exit', (code) => r(code)));
    c.kill('SIGINT');
    assert.is(await exited, 130, 'exit status of a SIGINT');
    assert.ok(await gone(daemon!), 'the adopted daemon was ended');
    assert.ok(await gone(bg!), 'the background process was ended');
    const pidFiles = readdirSync('/tmp/weft-lab-sk-daemon-sigint').filter(
      (f) => f.endsWith('.pid') && f !== 'owner.pid',
    );
    assert.equal(pidFiles, [], 'no PID file left');
  });

  test.run();
}
