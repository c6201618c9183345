// The refusal check of the configuration tests (flags, settings, net-conf, interface selection): the input must be
// refused with a ConfigError naming the field the user has to fix.
import * as assert from 'uvu/assert';
import { ConfigError } from './internals.ts';

function check(e: unknown, field: string, text?: RegExp): void {
  assert.instance(e, ConfigError, String(e));
  assert.is((e as ConfigError).name, 'ConfigError');
  assert.is((e as ConfigError).field, field, (e as Error).message);
  if (text) assert.match((e as Error).message, text);
}

/**
 * Asserts that `run` throws a ConfigError on `field` whose message matches `text` (when given); `what` names the
 * input in the failure message when it does not throw.
 */
export function assertConfigError(run: () => unknown, field: string, text?: RegExp, what?: string): void {
  try {
    run();
  } catch (e) {
    check(e, field, text);
    return;
  }
  assert.unreachable(`expected ConfigError on ${field}${what ? ` for ${what}` : ''}`);
}

/** The same for a promise: `run` must reject with a ConfigError on `field` (message matching `text`, when given). */
export async function assertRejectsConfigError(
  run: () => Promise<unknown>,
  field: string,
  text?: RegExp,
  what?: string,
): Promise<void> {
  try {
    await run();
  } catch (e) {
    check(e, field, text);
    return;
  }
  assert.unreachable(`expected ConfigError on ${field}${what ? ` for ${what}` : ''}`);
}
