// @weft/route-sync/bench: helpers only the benchmarks use (bench/bgp-codec.bench.ts builds its 100,000-prefix
// tables from text), kept off the package's public face.
export { parsePrefix } from './codec/prefix.ts';
