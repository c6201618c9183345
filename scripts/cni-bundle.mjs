// The root prepare script's second step (after tsc built agent/dist): the CNI plugin's one-file form, which the
// launcher `weft cni install` writes runs (agent/src/cni-bundle.ts). Also run by a production install.
const { buildCniBundle } = await import('../agent/dist/cni-bundle.js');
console.log(`weft: built ${await buildCniBundle()}`);
