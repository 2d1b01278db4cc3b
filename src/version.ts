import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const VERSION: string = pkg.version;
export const NAME = 'kdns';
/** Oldest Node.js that has everything we use (reusePort for dgram and net). */
export const MIN_NODE = '22.12.0';
