#!/usr/bin/env bash
# Runs the end-to-end benchmark inside a throwaway PostgreSQL cluster
# (called by scripts/bench under tests/support/with-databases.sh, which sets
# RFTGATE_TEST_PG). Usage: run.sh BIN OUTDIR SCALES REPS SINGLES ORM_MAX
# Writes OUTDIR/results.jsonl; exits non-zero, before any figure is written,
# when rftgate and the set-based SQL disagree on any order.
set -euo pipefail
bin=$1 out=$2 scales=$3 reps=$4 singles=$5 orm_max=$6
mkdir -p "$out"
cut -d' ' -f1-3 /proc/loadavg > "$out/load_before.txt"
results=$out/results.jsonl
: > "$results.tmp"
log=$out/stderr.log
: > "$log"
step() { echo "  $*" >&2; }
for s in $scales; do
  # At 100,000 orders the baselines (a) and SQLite run once; rftgate over
  # PostgreSQL and the floor, whose ratio is the target, keep every
  # repetition.
  r=$reps
  ((s >= 100000 && reps > 1)) && r=1
  echo "== $s orders" >&2
  step "generating (seed fixed) into PostgreSQL and SQLite"
  "$bin" generate --scale "$s" --sqlite "$out/bench_$s.db" >> "$results.tmp"
  step "rftgate over PostgreSQL"
  "$bin" run --what rftgate-pg --scale "$s" --reps "$reps" --singles "$singles" \
    --findings "$out/rftgate_pg_$s.tsv" >> "$results.tmp" 2>>"$log"
  step "rftgate over PostgreSQL, the wave whole (wave.page_orders: 0)"
  "$bin" run --what rftgate-pg-whole --scale "$s" --reps 1 \
    --findings "$out/rftgate_pg_whole_$s.tsv" >> "$results.tmp" 2>>"$log"
  step "rftgate over PostgreSQL in pages of 2,000 orders (memory)"
  "$bin" run --what rftgate-pg --pages 2000 --scale "$s" --reps 1 \
    --warmup 0 >> "$results.tmp" 2>>"$log"
  step "agreement rftgate in pages / whole"
  "$bin" compare "$out/rftgate_pg_$s.tsv" "$out/rftgate_pg_whole_$s.tsv" >&2
  step "(a) set-based SQL"
  "$bin" run --what sql --scale "$s" --reps "$r" \
    --findings "$out/sql_$s.tsv" >> "$results.tmp" 2>>"$log"
  step "agreement rftgate / (a)"
  "$bin" compare "$out/rftgate_pg_$s.tsv" "$out/sql_$s.tsv" >&2
  if ((s <= orm_max)); then
    step "(b) one query per line"
    "$bin" run --what orm --scale "$s" --reps 1 --warmup 0 \
      --findings "$out/orm_$s.tsv" >> "$results.tmp" 2>>"$log"
    step "agreement rftgate / (b)"
    "$bin" compare "$out/rftgate_pg_$s.tsv" "$out/orm_$s.tsv" >&2
  fi
  step "(c) the floor: COPY out, COPY in"
  "$bin" run --what floor --scale "$s" --reps "$reps" --singles "$singles" \
    --records "$(wc -l < "$out/rftgate_pg_$s.tsv")" >> "$results.tmp" 2>>"$log"
  step "rftgate over SQLite"
  "$bin" run --what rftgate-sqlite --scale "$s" --reps "$r" \
    --singles "$singles" --sqlite "$out/bench_$s.db" \
    --findings "$out/rftgate_sqlite_$s.tsv" >> "$results.tmp" 2>>"$log"
  step "agreement rftgate on SQLite / (a)"
  "$bin" compare "$out/rftgate_sqlite_$s.tsv" "$out/sql_$s.tsv" >&2
  rm -f "$out/bench_$s.db"
done
psql "$RFTGATE_TEST_PG" -Atc "SELECT 'postgres', version(), \
  current_setting('fsync'), current_setting('synchronous_commit'), \
  current_setting('shared_buffers')" | tr '|' '\t' > "$out/server.txt"
cut -d' ' -f1-3 /proc/loadavg > "$out/load_after.txt"
mv "$results.tmp" "$results"
