// metadata through the real CLI: the kubernetes plugin's labels of a query name and view/name (the
// same log lines as CoreDNS 1.12.2 for the 8 names here, checked side by side),
// read by log's {/label} and view's metadata(); nothing without the metadata plugin.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { udpQuery } from './helpers/dns-client.ts';
import { configError, type RunningServer, startServer } from './helpers/server-process.ts';

describe('metadata', () => {
  let s: RunningServer;
  before(async () => {
    // The API is unreachable: kubernetes answers SERVFAIL, but what a name asks for is known.
    s = await startServer(`
cluster.local:{PORT} {
    bind 127.0.0.1
    metadata
    log . "M {name} kind={/kubernetes/kind} ns={/kubernetes/namespace} svc={/kubernetes/service} ep={/kubernetes/endpoint} port={/kubernetes/port-name} proto={/kubernetes/protocol} err={/kubernetes/parse-error} view={/view/name} none={/x/y}"
    view internal {
        expr metadata('kubernetes/namespace') != 'blocked'
    }
    kubernetes cluster.local {
        endpoint http://127.0.0.1:1
    }
}
cluster.local:{PORT} {
    bind 127.0.0.1
    template IN A {
        answer "{{ .Name }} 60 IN A 192.0.2.99"
    }
}
nometa.test:{PORT} {
    bind 127.0.0.1
    log . "N {name} ns={/kubernetes/namespace}"
    kubernetes nometa.test {
        endpoint http://127.0.0.1:1
    }
}
`);
  });
  after(async () => {
    await s?.stop();
  });

  const logged = async (name: string, type = 'A'): Promise<string> => {
    await udpQuery(s.port, name, { type });
    const prefix = `${name.startsWith('s.ns.svc.nometa') ? 'N' : 'M'} ${name}. `;
    await s.waitFor(prefix, 5000);
    const line = s.stdout().split('\n').reverse().find((l) => l.includes(prefix))!;
    return line.slice(line.indexOf(prefix) + prefix.length);
  };

  test('the kubernetes labels of a name, view/name, "-" for none', async () => {
    assert.equal(await logged('my-svc.ns1.svc.cluster.local'), 'kind=svc ns=ns1 svc=my-svc ep= port= proto= err=- view=internal none=-');
    assert.equal(await logged('_http._tcp.my-svc.ns1.svc.cluster.local', 'SRV'), 'kind=svc ns=ns1 svc=my-svc ep= port=http proto=tcp err=- view=internal none=-');
    assert.equal(await logged('ep-1.my-svc.ns1.svc.cluster.local'), 'kind=svc ns=ns1 svc=my-svc ep=ep-1 port= proto= err=- view=internal none=-');
    assert.equal(await logged('10-0-0-1.ns2.pod.cluster.local'), 'kind=pod ns=ns2 svc=10-0-0-1 ep= port= proto= err=- view=internal none=-');
    assert.equal(await logged('a.b.c.d.e.svc.cluster.local'), 'kind=- ns=- svc=- ep=- port=- proto=- err=invalid query name view=internal none=-');
    assert.equal(await logged('x.other.cluster.local'), 'kind=- ns=- svc=- ep=- port=- proto=- err=invalid query name view=internal none=-');
    assert.equal(await logged('a.b.c.d.svc.cluster.local'), 'kind=svc ns=d svc=c ep= port=a proto=b err=- view=internal none=-');
  });

  test('view reads metadata before the chain runs: a namespace can pick the block', async () => {
    const r = await udpQuery(s.port, 'x.blocked.svc.cluster.local');
    assert.deepEqual(r.answers.map((a) => a.data), ['192.0.2.99'], 'the view said no: the next block answered');
  });

  test('without the metadata plugin no label has a value', async () => {
    assert.equal(await logged('s.ns.svc.nometa.test'), 'ns=-');
  });

  test('mistakes', async () => {
    assert.match(await configError('.:1053 {\n    metadata {\n        map x\n    }\n}\n'), /Corefile:2:5: metadata takes no block/);
  });
});
