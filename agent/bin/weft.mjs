#!/usr/bin/env node
// The `weft` executable: loads the TypeScript sources through tsx (resolved next to this file).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
