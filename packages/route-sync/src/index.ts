// @weft/route-sync: public surface (filled by its issue).
export {};
// bgp codec (types and errors)
export * from './types.ts';
export { BgpMessageError } from './codec/errors.ts';
// session FSM (RFC 4271 §8): pure core, injected clock
export * from './fsm/types.ts';
export { step, initialFsmState } from './fsm/fsm.ts';
export { validateOpen, negotiateHoldTime, collisionLoser, backoffSeconds, BGP_VERSION, MIN_HOLD_TIME, LARGE_HOLD_TIME } from './fsm/open.ts';
export { FakeClock, FsmTimers, systemClock, type Clock } from './fsm/clock.ts';
