// @weft/route-sync: public surface (filled by its issue).
export {};
// bgp codec (types and errors)
export * from './types.ts';
export { BgpMessageError } from './codec/errors.ts';
