// How kdns reaches the API server: its URL, and per request the credentials and TLS settings
// (endpoint + tls, a kubeconfig file, or the in-cluster service account). It has the two methods
// of client-node's KubeConfig that client-node's Watch and our list requests call
// (getCurrentCluster, applySecurityAuthentication), without loading client-node's KubeConfig:
// that module imports every generated API and model class, ~24 MiB of heap and ~80 MiB of RSS
// (bench/RESULTS.md, issue 13), which alone is half of kubeadm's 170Mi limit. What this file
// does not cover (exec plugins, auth-provider, proxy-url) is handed to client-node's KubeConfig,
// loaded only then.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { load as loadYaml } from 'js-yaml';
import { Agent, type Dispatcher } from 'undici';

/** client-node's RequestContext, as far as it is used here. */
export interface AuthTarget {
  setHeaderParam(key: string, value: string): void;
  setDispatcher(dispatcher: Dispatcher): void;
}

/** What client-node's Watch and ApiSource ask of a KubeConfig. */
export interface ApiConnection {
  getCurrentCluster(): { name: string; server: string } | null;
  applySecurityAuthentication(ctx: AuthTarget): Promise<void>;
}

export const IN_CLUSTER_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** A file's bytes, or inline base64 data (kubeconfig's *-data fields). */
interface Source {
  file?: string;
  data?: string;
}

interface ConnectionSpec {
  server: string;
  ca?: Source;
  cert?: Source;
  key?: Source;
  skipTLSVerify?: boolean;
  servername?: string;
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
}

/** A bearer token read from a file is read again after this long (as client-node does: rotated tokens). */
const TOKEN_REREAD_MS = 60_000;

class DirectConnection implements ApiConnection {
  private readonly spec: ConnectionSpec;
  private token: { value: string; at: number } | null = null;
  /** The dispatcher for the current TLS material; made again when a file's content changes. */
  private agent: { key: string; dispatcher: Dispatcher } | null = null;

  constructor(spec: ConnectionSpec) {
    this.spec = spec;
  }

  getCurrentCluster(): { name: string; server: string } {
    return { name: 'kdns', server: this.spec.server };
  }

  async applySecurityAuthentication(ctx: AuthTarget): Promise<void> {
    const s = this.spec;
    const bearer = s.tokenFile ? this.fileToken(s.tokenFile) : s.token;
    if (bearer) ctx.setHeaderParam('Authorization', `Bearer ${bearer}`);
    else if (s.username !== undefined) ctx.setHeaderParam('Authorization', `Basic ${Buffer.from(`${s.username}:${s.password ?? ''}`).toString('base64')}`);
    if (!s.server.startsWith('https:')) return;
    // Files are read per request, so a renewed certificate is picked up on the next (re)list or watch.
    const ca = read(s.ca);
    const cert = read(s.cert);
    const key = read(s.key);
    const id = JSON.stringify([ca?.toString('base64'), cert?.toString('base64'), key?.toString('base64'), s.skipTLSVerify, s.servername]);
    if (this.agent?.key !== id) {
      void this.agent?.dispatcher.close();
      this.agent = {
        key: id,
        dispatcher: new Agent({ connect: { ca, cert, key, rejectUnauthorized: s.skipTLSVerify ? false : undefined, servername: s.servername } }),
      };
    }
    ctx.setDispatcher(this.agent.dispatcher);
  }

  private fileToken(file: string): string {
    const now = Date.now();
    if (!this.token || now - this.token.at > TOKEN_REREAD_MS) this.token = { value: readFileSync(file, 'utf8').trim(), at: now };
    return this.token.value;
  }
}

function read(src: Source | undefined): Buffer | undefined {
  if (src?.data) return Buffer.from(src.data, 'base64');
  if (src?.file) return readFileSync(src.file);
  return undefined;
}

/** `endpoint URL` with the block's `tls CERT KEY CACERT`. */
export function endpointConnection(server: string, tls: { cert: string; key: string; ca: string } | null): ApiConnection {
  return new DirectConnection({ server, ca: tls ? { file: tls.ca } : undefined, cert: tls ? { file: tls.cert } : undefined, key: tls ? { file: tls.key } : undefined });
}

/** The pod's service account, as client-node's loadFromCluster reads it. */
export function inClusterConnection(dir = IN_CLUSTER_DIR): ApiConnection {
  const host = process.env.KUBERNETES_SERVICE_HOST ?? '';
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  return new DirectConnection({
    server: `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`,
    ca: { file: join(dir, 'ca.crt') },
    tokenFile: join(dir, 'token'),
  });
}

/** A kubeconfig file that cannot be used: the message is one line; `hint` says what to do. */
export class KubeconfigError extends Error {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super(message);
    this.hint = hint;
  }
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const named = (list: unknown, name: string, field: string): Json | undefined => {
  const hit = (Array.isArray(list) ? list : []).find((e) => obj(e).name === name);
  return hit === undefined ? undefined : obj(obj(hit)[field]);
};
const opt = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * A kubeconfig file as kubectl reads it (its current context, or `context`), with `server`
 * replacing the cluster's address when given. Relative paths are relative to the file.
 */
export function kubeconfigConnection(file: string, context: string | null, server: string | null): ApiConnection {
  let doc: Json;
  try {
    doc = obj(loadYaml(readFileSync(file, 'utf8')));
  } catch (err) {
    throw new KubeconfigError(`cannot load kubeconfig ${file}: ${(err as Error).message.split('\n')[0]}`, 'it must be a kubeconfig file as kubectl reads it');
  }
  const contextNames = (Array.isArray(doc.contexts) ? doc.contexts : []).map((c) => String(obj(c).name));
  const ctxName = context ?? opt(doc['current-context']);
  const ctx = ctxName === undefined ? undefined : named(doc.contexts, ctxName, 'context');
  if (context !== null && ctx === undefined) throw new KubeconfigError(`kubeconfig ${file} has no context '${context}'`, `contexts: ${contextNames.join(', ')}`);
  const cluster = ctx ? named(doc.clusters, String(ctx.cluster ?? ''), 'cluster') : undefined;
  if (!cluster || !opt(cluster.server)) throw new KubeconfigError(`kubeconfig ${file} has no current cluster`, 'name a context that has one');
  const user = (ctx ? named(doc.users, String(ctx.user ?? ''), 'user') : undefined) ?? {};
  const authProvider = obj(user['auth-provider']);
  if (user.exec !== undefined || (user['auth-provider'] !== undefined && authProvider.name !== 'tokenFile') || cluster['proxy-url'] !== undefined) {
    return clientNodeConnection(file, ctxName!, server);
  }
  const path = (p: unknown): string | undefined => {
    const s = opt(p);
    return s === undefined || isAbsolute(s) ? s : join(dirname(file), s);
  };
  return new DirectConnection({
    server: server ?? String(cluster.server),
    ca: { file: path(cluster['certificate-authority']), data: opt(cluster['certificate-authority-data']) },
    cert: { file: path(user['client-certificate']), data: opt(user['client-certificate-data']) },
    key: { file: path(user['client-key']), data: opt(user['client-key-data']) },
    skipTLSVerify: cluster['insecure-skip-tls-verify'] === true,
    servername: opt(cluster['tls-server-name']),
    token: opt(user.token),
    tokenFile: path(user.tokenFile ?? obj(authProvider.config).tokenFile),
    username: opt(user.username),
    password: opt(user.password),
  });
}

/** Exec plugins, auth providers and proxies: client-node's KubeConfig does these (loaded now, not before). */
function clientNodeConnection(file: string, context: string, server: string | null): ApiConnection {
  const { KubeConfig } = createRequire(import.meta.url)('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  kc.setCurrentContext(context);
  const cluster = kc.getCurrentCluster();
  if (server && cluster) (cluster as { server: string }).server = server;
  return kc as unknown as ApiConnection;
}
