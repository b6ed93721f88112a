#!/bin/sh
# Run every benchmark the README quotes; each JSON lands in bench/results/ (not in git).
# PostgreSQL runs are skipped when no server answers at ERPKIT_BENCH_PG_URL's server.
# Usage: bench/run_all.sh [quick]   (quick: small N, for a check that everything runs)
set -eu
cd "$(dirname "$0")/.."
PY=.venv/bin/python
OUT=bench/results
mkdir -p "$OUT"
if [ "${1:-}" = quick ]; then
    SIZES="200"; SCALE=20000; CONC=80; MEMORY=1000
else
    SIZES="1000 10000"; SCALE=1000000; CONC=400; MEMORY=10000
fi
PG=no
if $PY -c "import sys; sys.path.insert(0, 'bench'); import _common; sys.exit(_common.postgresql_version() is None)"; then
    PG=yes
fi

for n in $SIZES; do
    $PY bench/pipeline.py --orders "$n" --db sqlite > "$OUT/pipeline-sqlite-$n.json"
    [ $PG = yes ] && $PY bench/pipeline.py --orders "$n" --db postgresql > "$OUT/pipeline-postgresql-$n.json"
done
$PY bench/pipeline.py --orders "$MEMORY" --no-floor --tracemalloc > "$OUT/pipeline-memory-$MEMORY.json"
$PY bench/hooks.py --orders 1000 > "$OUT/hooks.json"
$PY bench/statement_cost.py --db sqlite > "$OUT/statement_cost-sqlite.json"
[ $PG = yes ] && $PY bench/statement_cost.py --db postgresql > "$OUT/statement_cost-postgresql.json"
$PY bench/over_http.py --orders 1000 > "$OUT/over_http-sqlite.json"
[ $PG = yes ] && $PY bench/concurrency.py --orders "$CONC" > "$OUT/concurrency.json"
$PY bench/at_scale.py --orders "$SCALE" > "$OUT/at_scale.json"
echo "results in $OUT/" >&2
