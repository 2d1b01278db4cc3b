// debug through the real CLI: a plugin failure (the KDNS_TEST_HOOKS query that fails the first
// plugin as if it threw) is logged with its stack and the query only in a block with `debug`;
// either way the query gets SERVFAIL and the worker goes on answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { udpQuery } from './helpers/dns-client.ts';
import { configError, startServer } from './helpers/server-process.ts';
import { eventually } from './helpers/eventually.ts';

const HOOKS = { KDNS_TEST_HOOKS: '1' };

for (const withDebug of [true, false]) {
  test(`a failing plugin ${withDebug ? 'is logged with its stack under debug' : 'is not logged without debug'}, answered SERVFAIL, and the worker goes on`, async () => {
    const s = await startServer(`.:{PORT} {\n    bind 127.0.0.1\n${withDebug ? '    debug\n' : ''}    errors\n    whoami\n}\n`, { workers: 1, env: HOOKS });
    try {
      const r = await udpQuery(s.port, 'panic.kdns.test', { type: 'TXT', cls: 'CH' });
      assert.equal(r.rcode, 'SERVFAIL');
      // errors prints the one-line message in both cases.
      await eventually(async () => assert.match(s.stdout(), /\[ERROR\] plugin\/errors: 2 panic\.kdns\.test\. TXT: plugin\/whoami: test hook: plugin failure requested/));
      const next = await udpQuery(s.port, 'example.org');
      assert.equal(next.rcode, 'NOERROR');
      if (withDebug) {
        assert.match(s.stdout(), /\[DEBUG\] plugin\/whoami: failed on panic\.kdns\.test\. TXT from 127\.0\.0\.1: Error: test hook: plugin failure requested\n {4}at /);
      } else {
        assert.doesNotMatch(s.stdout(), /\[DEBUG\]/);
      }
    } finally {
      await s.stop();
    }
  });
}

test('debug takes no arguments and no block', async () => {
  assert.match(await configError('.:1053 {\n    debug on\n    whoami\n}\n'), /Corefile:2:11: debug takes no arguments/);
  assert.match(await configError('.:1053 {\n    debug {\n    }\n    whoami\n}\n'), /Corefile:2:5: debug takes no block/);
});
