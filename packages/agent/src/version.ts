// The version weft reports (`weft agent --version`, weft_build_info): the package's, read where it is installed,
// so the source (src/) and the compiled form (dist/) both find ../package.json.
import { createRequire } from 'node:module';

/** @weft/agent's version string, e.g. "0.1.0". */
export const WEFT_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
