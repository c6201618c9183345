// @weft/tunnel/bench: helpers only the benchmarks use (bench/tunnel.bench.ts compares the addon's super-packet
// split with the TypeScript reference), kept off the package's public face.
export { splitSuperPacket, SplitResult } from './offload.ts';
export { splitSuperPacketTs } from './split-ts.ts';
