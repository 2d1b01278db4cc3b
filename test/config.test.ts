// Server block keys and the plan built from a Corefile (chains in CoreDNS order, listeners).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerKey } from '../src/config/address.ts';
import { buildPlan } from '../src/config/plan.ts';
import { CorefileError, parseCorefile } from '../src/corefile/index.ts';

const tok = (text: string) => ({ text, file: 'Corefile', line: 1, column: 1, quoted: false });

test('server block keys: zone, port, scheme', () => {
  assert.deepEqual(parseServerKey(tok('.:53'), 1053), [{ transport: 'dns', zone: '.', port: 53 }]);
  assert.deepEqual(parseServerKey(tok('.'), 1053), [{ transport: 'dns', zone: '.', port: 1053 }]);
  assert.deepEqual(parseServerKey(tok('dns://Example.ORG:1054'), 53), [{ transport: 'dns', zone: 'example.org.', port: 1054 }]);
  assert.deepEqual(parseServerKey(tok('cluster.local.'), 53), [{ transport: 'dns', zone: 'cluster.local.', port: 53 }]);
  assert.deepEqual(parseServerKey(tok('tls://.'), 1053), [{ transport: 'tls', zone: '.', port: 853 }]);
  assert.deepEqual(parseServerKey(tok('https://example.org:8443'), 53), [{ transport: 'https', zone: 'example.org.', port: 8443 }]);
  assert.deepEqual(parseServerKey(tok('HTTPS://.'), 53), [{ transport: 'https', zone: '.', port: 443 }]);
  assert.throws(() => parseServerKey(tok('grpc://.:853'), 53), /grpc:\/\/ servers are not supported yet/);
  assert.throws(() => parseServerKey(tok('foo://.'), 53), /unknown scheme/);
  assert.throws(() => parseServerKey(tok('.:0'), 53), /port '0' is not valid/);
});

test('CIDR keys become reverse zones', () => {
  const zones = (k: string) => parseServerKey(tok(k), 53).map((a) => a.zone);
  assert.deepEqual(zones('10.0.0.0/8'), ['10.in-addr.arpa.']);
  assert.deepEqual(zones('192.168.1.0/24:1053'), ['1.168.192.in-addr.arpa.']);
  assert.deepEqual(zones('10.0.0.0/15'), ['0.10.in-addr.arpa.', '1.10.in-addr.arpa.']);
  assert.deepEqual(zones('fd00::/16'), ['0.0.d.f.ip6.arpa.']);
  assert.equal(parseServerKey(tok('fd00::/16:5353'), 53)[0]!.port, 5353);
  assert.throws(() => parseServerKey(tok('10.0.0.0/33'), 53), /not a valid CIDR/);
});

test('plan: chain in directive order whatever the Corefile order; keys on two ports make two servers', () => {
  const cf = parseCorefile('a.test:1053 b.test:1054 {\n whoami\n records {\n  x 5 IN A 10.0.0.1\n }\n log\n errors\n}\n', 'Corefile');
  const plan = buildPlan(cf, { defaultPort: 53 });
  assert.equal(plan.servers.length, 2);
  assert.deepEqual(plan.servers[0]!.plugins.map((p) => p.name), ['errors', 'log', 'records', 'whoami']);
  assert.deepEqual(plan.listeners.map((l) => `${l.address}|${l.port}`).sort(), ['::|1053', '::|1054']);
});

test('plan: blocks on one port share one listener; mixed bind on a port is an error', () => {
  const shared = buildPlan(parseCorefile('a.test:1053 {\n whoami\n}\nb.test:1053 {\n whoami\n}\n', 'Corefile'), { defaultPort: 53 });
  assert.equal(shared.listeners.length, 1);
  assert.deepEqual(shared.listeners[0]!.servers, [0, 1]);
  assert.throws(
    () => buildPlan(parseCorefile('a.test:1053 {\n bind 127.0.0.1\n whoami\n}\nb.test:1053 {\n whoami\n}\n', 'Corefile'), { defaultPort: 53 }),
    (err: Error) => err instanceof CorefileError && /Corefile:5:1: port 1053 is used by a block that listens on every address/.test(err.message),
  );
});
