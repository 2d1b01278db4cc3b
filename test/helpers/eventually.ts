// Retries an assertion until it passes or `ms` runs out (then its last failure is thrown): for
// effects that reach the server asynchronously (watch events, file reloads, probes).
export async function eventually<T>(check: () => Promise<T>, ms = 8000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
