// bench/hot-path.ts: kdns's worker runtime fed from memory. The figure it prints is only worth
// something if the queries were answered by the plugins (not refused, not deferred), so the test
// checks the RCODEs of the answers it counted and the refusal of a mix that would be forwarded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import type { HotPathResult } from '../bench/hot-path-worker.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const run = (...args: string[]) => spawnSync(process.execPath, ['bench/hot-path.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });

test('hot-path: cluster names answered in the worker runtime, ns per query per round, JSON alone on stdout', { timeout: 100_000 }, () => {
  const r = run('--services', '30', '--endpoints', '200', '--count', '500', '--rounds', '3', '--queries-per-round', '20000', '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout) as HotPathResult;
  assert.equal(j.kind, 'kdns-hot-path');
  assert.equal(j.queries, 500);
  assert.equal(j.nsPerQuery.length, 3);
  for (const ns of j.nsPerQuery) assert.ok(ns > 10 && ns < 1_000_000, `${ns} ns per query`);
  assert.ok(j.minNs <= j.medianNs);
  assert.equal(j.deferred, 0);
  // Every measured query was answered by the chain, with the RCODEs of the mix (NXDOMAIN: its
  // search-path misses and unknown names).
  assert.equal((j.rcodes.NOERROR ?? 0) + (j.rcodes.NXDOMAIN ?? 0), 3 * 20_000, JSON.stringify(j.rcodes));
  assert.ok(j.rcodes.NOERROR! > j.rcodes.NXDOMAIN! && j.rcodes.NXDOMAIN! > 0, JSON.stringify(j.rcodes));
  assert.match(r.stderr, /\[INFO\] plugin\/kubernetes: serving 30 services/, 'the primary parts log to stderr with --json');
});

test('hot-path: a mix that kdns forwards is refused (its cost would be left out), and bad flags are errors', { timeout: 100_000 }, () => {
  const r = run('--services', '10', '--endpoints', '40', '--count', '100', '--mix', 'outside-miss=100', '--rounds', '1', '--queries-per-round', '5000');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /hot-path: \d+ of 5000 queries per round were deferred \(forwarded\) or failed/);
  const bad = run('--rounds', '0');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--rounds >= 1/);
});
