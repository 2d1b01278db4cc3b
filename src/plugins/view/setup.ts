// view NAME { expr EXPRESSION ... }: the server block takes a query only when every expression
// is true for it, so blocks for the same zone and port can answer different clients (split
// horizon), as CoreDNS's view. The expressions are checked here and compiled in each worker.
import type { Directive } from '../../corefile/index.ts';
import { fail } from '../../plugin/args.ts';
import type { PluginDefinition } from '../../plugin/types.ts';
import { ExpressionError, compileExpression } from './expression.ts';
import { requestFunctions } from './functions.ts';
import type { ViewConfig } from './handler.ts';

const USAGE = 'view NAME {\n    expr EXPRESSION\n}';
const FUNCTIONS = 'bufsize() class() client_ip() do() id() name() opcode() port() proto() server_ip() server_port() size() type() incidr(ip, cidr) metadata(label)';

/** An expression's words joined with spaces, as CoreDNS reads the line; errors point into it. */
function expressionOf(line: Directive): string {
  if (line.block) fail(line.name, 'expr takes no block', USAGE);
  if (line.args.length === 0) fail(line.name, 'expr needs an expression', "e.g. expr incidr(client_ip(), '10.0.0.0/8')");
  const text = line.args.map((t) => t.text).join(' ');
  try {
    compileExpression(text, requestFunctions({ serverPort: 0, metadata: () => '' }));
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    // The column within the expression, mapped back onto the line's tokens.
    let at = 0;
    let token = line.args[0]!;
    for (const t of line.args) {
      if (err.column - 1 < at + t.text.length + 1) { token = t; break; }
      at += t.text.length + 1;
    }
    fail({ ...token, column: token.column + Math.max(0, Math.min(token.text.length - 1, err.column - 1 - at)) }, `view expression: ${err.message}`, `functions: ${FUNCTIONS}; operators: == != < > in matches contains startsWith endsWith and or not`);
  }
  return text;
}

export const view: PluginDefinition = {
  name: 'view',
  summary: 'routes a query to this server block only when its expressions hold (split horizon by client address, name or type)',
  setup(ctx) {
    const d = ctx.directive;
    if (d.args.length !== 1) fail(d.args[1] ?? d.name, d.args.length === 0 ? 'view needs a NAME' : 'view takes one NAME', USAGE);
    const expressions: string[] = [];
    for (const line of d.block ?? []) {
      if (line.name.text !== 'expr') fail(line.name, `unknown view property '${line.name.text}'`, USAGE);
      expressions.push(expressionOf(line));
    }
    const config: ViewConfig = { name: d.args[0]!.text, expressions, serverPort: ctx.block.port };
    // Without an expression the block takes every query: it is not a filtered block (CoreDNS).
    if (expressions.length === 0) return {};
    return { worker: { module: new URL('./handler.ts', import.meta.url).href, config }, filtered: true };
  },
};
