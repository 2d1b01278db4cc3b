// Environment substitution: `{$NAME}` and `{%NAME%}` anywhere inside a token.
// CoreDNS has no default-value syntax, so `{$A:b}` looks up a variable named "A:b".
// As in CoreDNS, `{%...%}` references are replaced first, then `{$...}` ones.
// Each pass goes left to right once: substituted values are not rescanned by the
// same pass, so a value that names itself cannot loop.

export type Env = Record<string, string | undefined>;

export function substituteEnv(text: string, env: Env): string {
  if (!text.includes('{')) return text;
  return replaceRefs(replaceRefs(text, '{%', '%}', env), '{$', '}', env);
}

function replaceRefs(s: string, open: string, close: string, env: Env): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = s.indexOf(open, from);
    if (start < 0) break;
    const end = s.indexOf(close, start + open.length);
    if (end < 0) break;
    const name = s.slice(start + open.length, end);
    out += s.slice(from, start);
    // An empty name (`{$}`) is left as written.
    out += name === '' ? s.slice(start, end + close.length) : lookup(env, name);
    from = end + close.length;
  }
  return out + s.slice(from);
}

function lookup(env: Env, name: string): string {
  if (!Object.hasOwn(env, name)) return '';
  const v = env[name];
  return typeof v === 'string' ? v : '';
}
