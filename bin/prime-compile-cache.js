#!/usr/bin/env node
// Fills a compile cache ahead of time: `node bin/prime-compile-cache.js DIR` compiles every
// TypeScript module of src/ and workers/ (and the libraries they import) into DIR. The image does
// this at build time, as the user it runs as (Node keeps one cache per UID and writes its files
// readable by that user only), and sets KDNS_COMPILE_CACHE to DIR (bin/compile-cache.js): at run
// time Node only reads it, so a read-only root filesystem is fine. Loading modules starts
// nothing: the server starts in src/cli.ts's main(), a worker in its task.
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node bin/prime-compile-cache.js DIR\n');
  process.exit(2);
}
const result = module.enableCompileCache(path.resolve(dir));
if (!result.directory) {
  process.stderr.write(`prime-compile-cache: Node did not enable a cache in ${dir}: ${result.message ?? 'status ' + result.status}\n`);
  process.exit(1);
}
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const sources = ['src', 'workers']
  .flatMap((top) => fs.readdirSync(path.join(root, top), { recursive: true, withFileTypes: true }))
  .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
  .map((e) => path.join(e.parentPath, e.name))
  .sort();
for (const file of sources) await import(pathToFileURL(file).href);
// Libraries that src/ loads on first use rather than at import (src/metrics/registry.ts,
// src/plugins/kubernetes/api-connection.ts).
await import('prom-client');
await import('@kubernetes/client-node');
module.flushCompileCache();
process.stdout.write(`compile cache: ${sources.length} modules in ${result.directory}\n`);
