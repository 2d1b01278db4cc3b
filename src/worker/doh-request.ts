// What an HTTP request to a DoH server (RFC 8484) asks: the DNS message it carries, or the HTTP
// status that refuses it. GET carries the message base64url-encoded in `dns`; POST carries it as
// the body, typed application/dns-message. Nothing here reads sockets.

export const DOH_PATH = '/dns-query';
export const DOH_MEDIA_TYPE = 'application/dns-message';
/** The largest DNS message (RFC 8484 6: as over TCP, a 16-bit length). */
export const MAX_MESSAGE = 65535;
const HEADER_SIZE = 12;

/** Statuses a DoH server answers with; their order is the `status` label index of the metric. */
export const DOH_STATUSES = [200, 400, 404, 405, 413, 415] as const;
export type DohStatus = (typeof DOH_STATUSES)[number];
export const STATUS_INDEX: Record<DohStatus, number> = Object.fromEntries(DOH_STATUSES.map((s, i) => [s, i])) as Record<DohStatus, number>;

export interface Refusal {
  status: Exclude<DohStatus, 200>;
  reason: string;
}

/** How a request will be read: a GET's message now, a POST's body later, or a refusal. */
export type RequestPlan = { kind: 'message'; msg: Buffer } | { kind: 'body' } | Refusal & { kind: 'refuse' };

const refuse = (status: Refusal['status'], reason: string): RequestPlan => ({ kind: 'refuse', status, reason });

/** Looks at the method, the request target and the content type of a request. */
export function planRequest(method: string | undefined, url: string | undefined, contentType: string | undefined): RequestPlan {
  const target = url ?? '';
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path !== DOH_PATH) return refuse(404, `not found; DNS queries go to ${DOH_PATH}`);
  if (method === 'GET') {
    const values = new URLSearchParams(q < 0 ? '' : target.slice(q + 1)).getAll('dns');
    if (values.length === 0) return refuse(400, "no 'dns' query parameter");
    if (values.length > 1) return refuse(400, "more than one 'dns' query parameter");
    const msg = decodeBase64Url(values[0]!);
    if (msg === null) return refuse(400, "the 'dns' parameter is not base64url");
    return checkMessage(msg);
  }
  if (method === 'POST') {
    if (!isDnsMessage(contentType)) return refuse(415, `the body must be ${DOH_MEDIA_TYPE}`);
    return { kind: 'body' };
  }
  return refuse(405, 'use GET or POST');
}

/** A POST body once read (null: it grew past MAX_MESSAGE). */
export function planBody(body: Buffer | null): RequestPlan {
  if (body === null) return refuse(413, `a DNS message has at most ${MAX_MESSAGE} bytes`);
  return checkMessage(body);
}

function checkMessage(msg: Buffer): RequestPlan {
  if (msg.length > MAX_MESSAGE) return refuse(413, `a DNS message has at most ${MAX_MESSAGE} bytes`);
  if (msg.length < HEADER_SIZE) return refuse(400, 'not a DNS message (shorter than its header)');
  return { kind: 'message', msg };
}

/** `application/dns-message`, any case, parameters allowed (RFC 9110 8.3.1). */
function isDnsMessage(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === DOH_MEDIA_TYPE;
}

/**
 * Strict base64url (RFC 4648 5). RFC 8484 4.1 says the padding is left out; a client that sends
 * it anyway is forgiven. Buffer's own decoder skips characters it does not know, so check first.
 */
function decodeBase64Url(text: string): Buffer | null {
  const s = text.endsWith('==') ? text.slice(0, -2) : text.endsWith('=') ? text.slice(0, -1) : text;
  if (s.length % 4 === 1 || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  return Buffer.from(s, 'base64url');
}
