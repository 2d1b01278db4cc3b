// rewrite's edns0 rules: what one rule does to the options of the query's OPT record, in the
// order CoreDNS 1.12.2 does it (checked side by side: what the upstream receives).
//   set:     the first option with the code gets the value; none: the option is added.
//   replace: the first option with the code gets the value; none: nothing changes.
//   append:  the option is added after the others (a fixed local value or nsid even when one
//            is there already; a variable local value or subnet only when none is).
import { addressBytes as readAddress } from '../../dns/address-match.ts';
import { findOpt } from '../../dns/message.ts';
import { type EdnsOption, readOptions } from '../../dns/edns-options.ts';
import type { Query } from '../../dns/query.ts';
import type { Edns0Rule } from './rules.ts';

/** The options as the rules so far left them, for one query. */
export interface EdnsEdit {
  /** Offset of the query's OPT record, -1 when it has none. */
  opt: number;
  options: EdnsOption[];
  /** The query will carry an OPT record (it had one, or a rule gave it one). */
  hasOpt: boolean;
  changed: boolean;
}

/** What a variable is filled from, besides the query itself. */
export interface VariableSource {
  /** The server block's port ({server_port}). */
  serverPort: number;
  /** A metadata label's value for this query, or null (then the rule is not applied). */
  metadata(q: Query, label: string): string | null;
}

export function startEdit(q: Query): EdnsEdit {
  const opt = q.edns ? findOpt(q.msg, q.len, q.questionEnd) : -1;
  return { opt, options: readOptions(q.msg, q.len, opt), hasOpt: opt >= 0, changed: false };
}

/** Applies `rule` to `edit`; true when it changed the options (CoreDNS's RewriteDone). */
export function applyEdns0(rule: Edns0Rule, edit: EdnsEdit, q: Query, name: string, type: number, src: VariableSource): boolean {
  let data: Uint8Array | null;
  if (rule.option === 'subnet') data = subnetData(rule, q);
  else if (rule.option === 'nsid') data = new Uint8Array(0); // an empty NSID asks for the server's (RFC 5001 2.1)
  else if (rule.variable !== null) data = variableData(rule.variable, q, name, type, src);
  else data = Uint8Array.from(rule.data);
  if (data === null) return false; // a variable with no value: the query goes on untouched
  // CoreDNS gives the query an OPT record before it looks for the option, so even a rule that
  // then changes nothing leaves one (for a variable only once its value is known).
  if (!edit.hasOpt) {
    edit.hasOpt = true;
    edit.changed = true;
  }
  const found = edit.options.find((o) => o.code === rule.code);
  if (found !== undefined && rule.action !== 'append') {
    found.data = data;
    edit.changed = true;
    return true;
  }
  const addsBeside = rule.option === 'nsid' || (rule.option === 'local' && rule.variable === null);
  if (rule.action === 'replace' || (found !== undefined && !addsBeside)) return false;
  edit.options.push({ code: rule.code, data });
  edit.changed = true;
  return true;
}

const ADDRESS = new Uint8Array(16);

/** An address in network order (a copy: it becomes option data), null when it is no address. */
function addressBytes(ip: string): Uint8Array | null {
  const len = readAddress(ip, ADDRESS);
  return len === 0 ? null : ADDRESS.slice(0, len);
}

/** RFC 7871 6: family, source prefix, scope 0, and the address cut to the prefix's octets. */
function subnetData(rule: Edns0Rule, q: Query): Uint8Array | null {
  const address = addressBytes(q.remoteAddress);
  if (address === null) return null;
  const v4 = address.length === 4;
  const prefix = v4 ? rule.v4 : rule.v6;
  const octets = Math.ceil(prefix / 8);
  const out = new Uint8Array(4 + octets);
  out[1] = v4 ? 1 : 2;
  out[2] = prefix;
  for (let i = 0; i < octets; i++) {
    const bits = Math.min(8, prefix - 8 * i);
    out[4 + i] = address[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function port(p: number): Uint8Array {
  return Uint8Array.of(p >> 8, p & 0xff);
}

function variableData(variable: string, q: Query, name: string, type: number, src: VariableSource): Uint8Array | null {
  switch (variable) {
    case 'qname': return new TextEncoder().encode(name);
    case 'qtype': return port(type);
    case 'client_ip': return addressBytes(q.remoteAddress);
    case 'client_port': return port(q.remotePort);
    case 'protocol': return new TextEncoder().encode(q.tcp ? 'tcp' : 'udp');
    case 'server_port': return port(src.serverPort);
    case 'server_ip': {
      // The listener's address; a wildcard one ('::', '0.0.0.0') or one of the other family
      // than the client's has none to give, as in CoreDNS (the rule is then not applied).
      const local = addressBytes(q.localAddress);
      const client = addressBytes(q.remoteAddress);
      if (local === null || client === null || local.length !== client.length || local.every((b) => b === 0)) return null;
      return local;
    }
    default: {
      const value = src.metadata(q, variable);
      return value === null || value === '' ? null : new TextEncoder().encode(value);
    }
  }
}
