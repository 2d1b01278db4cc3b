// Entry point of `npm run bench`: the interleaved A/B comparison (see compare.ts).
//   npm run bench -- --targets minimal,kdns1,kdnsN --rounds 3 --duration 5
import { compareCli } from './compare.ts';

compareCli().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
