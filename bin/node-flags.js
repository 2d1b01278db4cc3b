// The Node flags kdns's primary thread runs with. Every launcher passes exactly these: this
// file's shebang twin in bin/kdns.js (`npx kdns`), `npm start`, the image's ENTRYPOINT, and the
// tests' and benchmarks' spawns (test/deploy.test.ts checks the first three against this list).
//
// --max-semi-space-size=2: the primary's young generation. Left to itself V8 grows the primary's
// new space to 128 MiB while the first sync of a big cluster allocates, and keeps it: RSS after
// a 10,000-Service build was ~900 MiB in one run of four and ~500 MiB otherwise; capped, it is
// ~400 MiB every time, and the build is no slower (bench/RESULTS.md, issue 13). The flag is
// process-wide, so the server puts it back to V8's default before it starts the workers, whose
// young generation -worker.young-mb sets (src/server/primary-heap.ts).
export const PRIMARY_NODE_FLAGS = ['--max-semi-space-size=2'];

// The environment every launcher sets for kdns (the shebang through `env -S`, `npm start`, the
// image's ENV, the tests' and benchmarks' spawns).
//
// MALLOC_MMAP_THRESHOLD_: glibc's malloc serves a block of at least this size by mmap and unmaps
// it when freed. Left to itself glibc raises the threshold each time such a block is freed (up to
// 32 MiB), so after the first list page of a big cluster (~1 MiB of JSON, read in Node's 64 KiB
// socket chunks) every later page comes from the brk heap and leaves it fragmented: at 10,000
// Services the primary kept 64-67 MiB there against 21-28 MiB with the threshold fixed at glibc's
// starting value, 128 KiB (bench/RESULTS.md, issue 13). musl ignores it.
export const PRIMARY_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' };
