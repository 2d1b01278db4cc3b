// bin/kdns.js installs a resolution hook (src/plugins/kubernetes/client-node-imports.ts) so that
// client-node's ListWatch does not load the library's generated models (~6 MiB of the primary's
// heap, issue 13). A child Node records every module it resolves while it imports the API source,
// with and without the hook; the label selector path of the shim runs through the real CLI in
// kubernetes-api.test.ts ('labels selects services').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ROOT } from './helpers/server-process.ts';

function resolvedWhileImporting(slim: boolean): string[] {
  const script = `
    import module from 'node:module';
    if (${slim}) (await import('./src/plugins/kubernetes/client-node-imports.ts')).slimClientNodeImports();
    // Registered last, so it runs first and sees what the hooks after it resolve to.
    const seen = [];
    module.registerHooks({ resolve(s, c, next) { const r = next(s, c); seen.push(r.url); return r; } });
    await import('./src/plugins/kubernetes/api-source.ts');
    const { ListWatch } = await import('@kubernetes/client-node/dist/cache.js');
    process.stdout.write(JSON.stringify({ seen, listWatch: typeof ListWatch }));
  `;
  const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }));
  assert.equal(out.listWatch, 'function');
  return out.seen as string[];
}

test('with the hook, the API source loads ListWatch without client-node\'s generated models', () => {
  const models = (urls: string[]) => urls.filter((u) => u.includes('/gen/models/'));
  // The control: without the hook the same imports load them (so the check below can fail).
  assert.ok(models(resolvedWhileImporting(false)).length > 100, 'client-node\'s models load without the hook');
  const slim = resolvedWhileImporting(true);
  assert.deepEqual(models(slim), []);
  assert.ok(slim.some((u) => u.endsWith('/list-watch-serializer.ts')), 'cache.js got the shim');
});

test('the shim serializes selectors as they are and hands other types to client-node', async () => {
  const { ObjectSerializer } = await import('../src/plugins/kubernetes/list-watch-serializer.ts');
  assert.equal(ObjectSerializer.serialize('tier in (front, middle)', 'string'), 'tier in (front, middle)');
  const d = new Date('2026-12-07T00:00:00Z');
  assert.equal(ObjectSerializer.serialize(d, 'Date', 'date-time'), '2026-12-07T00:00:00.000Z');
});
