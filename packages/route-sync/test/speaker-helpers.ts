// Helpers shared by the speaker, TCP and BIRD interop tests.

/** Polls `cond` every 10 ms for at most `ms`; throws naming `what` when it never holds. Bounded in time. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  for (let i = 0; i < 100_000 && Date.now() < until; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, ms > 10_000 ? 100 : 10));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`);
}
