#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2
// Entry point. Plain JavaScript on purpose: it must run on any Node to say clearly when the
// Node is too old, before loading the TypeScript sources (which need Node's type stripping).
// The shebang's flags and environment are bin/node-flags.js's PRIMARY_NODE_FLAGS and PRIMARY_ENV
// (a shebang cannot import them).
const MIN = [22, 12, 0];
const have = process.versions.node.split('.').map(Number);
const tooOld = have[0] < MIN[0] || (have[0] === MIN[0] && (have[1] < MIN[1] || (have[1] === MIN[1] && have[2] < MIN[2])));
if (tooOld) {
  process.stderr.write(
    `kdns needs Node.js ${MIN.join('.')} or newer (Node 24 LTS recommended); this is Node.js ${process.versions.node} (${process.execPath}).\n` +
      'Run it through npm after `npm install`, which brings Node 24: `npm start -- -conf Corefile` or `npx kdns -conf Corefile`.\n',
  );
  process.exit(1);
}
const { enableCompileCache, flushCompileCache } = await import('./compile-cache.js');
enableCompileCache();
// Before the server's modules load: client-node's ListWatch without its generated models.
const { slimClientNodeImports } = await import('../src/plugins/kubernetes/client-node-imports.ts');
slimClientNodeImports();
const { main } = await import('../src/cli.ts');
flushCompileCache();
// Exit as soon as main is done (the server has stopped in order by then): a connection still
// open somewhere, such as an API request to a server that never answers, must not keep the
// process alive after SIGTERM.
process.exit(await main(process.argv.slice(2)));
