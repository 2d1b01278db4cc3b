// The kubernetes plugin's metadata (CoreDNS plugin/kubernetes/metadata.go): what the query name
// asks for, read from its labels under the plugin's zone:
//   [_port._protocol. | endpoint.] service.namespace.(svc|pod).zone
// kubernetes/kind, namespace, service, endpoint, port-name, protocol, or kubernetes/parse-error
// when the name is not of that form. Not provided: client-namespace and client-pod-name, which
// CoreDNS takes from its Pod watch (kdns keeps none).
import type { Query } from '../../dns/query.ts';
import type { ServerMetadata } from '../../plugin/metadata.ts';
import type { ZoneMatcher } from '../../table/zone-match.ts';

interface Parsed {
  error: string;
  kind: string;
  namespace: string;
  service: string;
  endpoint: string;
  port: string;
  protocol: string;
}

function labelsBelow(q: Query, zoneLen: number): string[] {
  const text = q.nameText();
  const zoneText = zoneLen <= 1 ? 0 : zoneLen - 1; // text length of the zone, without the root dot
  const base = text.slice(0, Math.max(0, text.length - zoneText - 1));
  return base === '' ? [] : base.replace(/\.$/, '').split('.');
}

/** CoreDNS's errInvalidRequest: only kubernetes/parse-error is set then. */
const INVALID: Parsed = { error: 'invalid query name', kind: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };

function parse(q: Query, zones: ZoneMatcher): Parsed {
  const r: Parsed = { error: '', kind: '', namespace: '', service: '', endpoint: '', port: '', protocol: '' };
  const z = zones.match(q);
  // Outside the zones CoreDNS parses the whole name, which never ends in svc or pod.
  const segs = z < 0 ? q.nameText().replace(/\.$/, '').split('.') : labelsBelow(q, zones.wire[z]!.length);
  let last = segs.length - 1;
  // The zone's apex, `svc.<zone>` and `pod.<zone>`: nothing to tell (CoreDNS answers NODATA).
  if (last < 0 || (last === 0 && (segs[0] === 'svc' || segs[0] === 'pod'))) return r;
  const strip = (s: string): string => (s.startsWith('_') ? s.slice(1) : s);
  r.kind = segs[last]!;
  if (r.kind !== 'svc' && r.kind !== 'pod') return INVALID;
  if (--last < 0) return r;
  r.namespace = segs[last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.protocol = strip(segs[1]!);
    r.port = strip(segs[0]!);
  } else return INVALID;
  return r;
}

export function provideKubernetesMetadata(meta: ServerMetadata, zones: ZoneMatcher): void {
  // A name of no such form has only parse-error; any other has every label but that one.
  const field = (f: keyof Parsed) => (q: Query): string | null => {
    const r = parse(q, zones);
    return (r === INVALID) === (f === 'error') ? r[f] : null;
  };
  meta.provide('kubernetes/parse-error', field('error'));
  meta.provide('kubernetes/kind', field('kind'));
  meta.provide('kubernetes/namespace', field('namespace'));
  meta.provide('kubernetes/service', field('service'));
  meta.provide('kubernetes/endpoint', field('endpoint'));
  meta.provide('kubernetes/port-name', field('port'));
  meta.provide('kubernetes/protocol', field('protocol'));
}
