// The long-lived shell the firewall runs its commands through: output, exit status, input passed verbatim (no
// expansion, quotes kept), commands in order, and a new shell after the old one died.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CommandShell, ShellCommandError } from '../src/backends/command-shell.ts';

test('runs commands with their stdin and returns their output', async () => {
  const sh = new CommandShell();
  try {
    const text = 'a line with $HOME, `backticks`, \'quotes\' and "more"\nEOF\nsecond line\n';
    assert.is(await sh.run(['cat'], text), text);
    assert.is(await sh.run(['printf', '%s|', "it's", '$x'], ''), "it's|$x|");
  } finally {
    sh.close();
  }
});

test('a non-zero exit rejects with the status and what the command printed', async () => {
  const sh = new CommandShell();
  try {
    await sh.run(['sh', '-c', 'echo oops >&2; exit 3'], '');
    assert.unreachable('exit 3 must reject');
  } catch (e) {
    assert.instance(e, ShellCommandError);
    assert.is((e as ShellCommandError).code, 3);
    assert.match((e as ShellCommandError).stderr, /oops/);
  } finally {
    sh.close();
  }
});

test('concurrent calls run one after another, each with its own output', async () => {
  const sh = new CommandShell();
  try {
    const outs = await Promise.all(Array.from({ length: 20 }, (_, i) => sh.run(['echo', String(i)], '')));
    assert.equal(
      outs,
      Array.from({ length: 20 }, (_, i) => `${i}\n`),
    );
  } finally {
    sh.close();
  }
});

test('a shell that exits mid-command fails that command; the next one gets a new shell', async () => {
  const sh = new CommandShell();
  try {
    await sh.run(['sh', '-c', 'kill -9 $PPID'], '').then(
      () => assert.unreachable('the shell was killed'),
      (e) => assert.instance(e, ShellCommandError),
    );
    assert.is(await sh.run(['echo', 'again'], ''), 'again\n');
  } finally {
    sh.close();
  }
});

test.run();
