# shellcheck shell=bash
# What bench/scrape.sh and bench/scrape_fleet.sh measure alike: one scrape at a time with wrk,
# alone or while wrk loads an app port. Sourced after lib.sh.

# One scrape at a time on URL for entry INDEX (wrk -t1 -c1 after a warm-up) into OUTPUT.txt
# (the warm-up into OUTPUT-warmup.txt). Appends "round index rps p50 p99 errors" to
# $BENCH_TMP/results.
measure_scrapes() {
  local round=$1 index=$2 url=$3 output=$4 parsed
  BENCH_THREADS=1 BENCH_CONNECTIONS=1 run_wrk "$url" "$BENCH_WARMUP" "$output-warmup.txt"
  BENCH_THREADS=1 BENCH_CONNECTIONS=1 run_wrk "$url" "$BENCH_DURATION" "$output.txt"
  parsed=$(parse_wrk "$output.txt") || { cat "$output.txt" >&2; die "cannot parse wrk output"; }
  log "round $round: ${BENCH_NAMES[$index]}: $parsed (scrapes/s p50_ms p99_ms errors)"
  echo "$round $index $parsed" >>"$BENCH_TMP/results"
}

# The same while wrk loads APP_URL for the whole scrape run (warm-up included) and a second
# more, into OUTPUT-load.txt. Appends "round index app_rps app_errors" to $BENCH_TMP/load.
measure_scrapes_under_load() {
  local round=$1 index=$2 url=$3 output=$4 app_url=$5 load_pid status=0 parsed
  spawn_group "$output-load.txt" wrk -t1 "-c$BENCH_CONNECTIONS" \
    "-d$((BENCH_WARMUP + BENCH_DURATION + 1))s" --latency "$app_url"
  load_pid=$SPAWNED_PID
  measure_scrapes "$round" "$index" "$url" "$output"
  wait "$load_pid" || status=$?
  forget_pid "$load_pid"
  if [ "$status" != 0 ] || ! parsed=$(parse_wrk "$output-load.txt"); then
    cat "$output-load.txt" >&2
    die "the load's wrk failed (exit status $status)"
  fi
  echo "$round $index $(echo "$parsed" | awk '{ print $1, $4 }')" >>"$BENCH_TMP/load"
}

# The median of column COLUMN of FILE over the lines whose column KEY_COLUMN is KEY; "—" when
# none.
median_where() {
  local file=$1 key_column=$2 key=$3 column=$4
  awk -v key_column="$key_column" -v key="$key" -v column="$column" '$key_column == key { print $column }' \
    "$file" | sort -g | awk '{ value[NR] = $1 } END {
      if (NR == 0) { print "—"; exit }
      print (NR % 2) ? value[(NR + 1) / 2] : (value[NR / 2] + value[NR / 2 + 1]) / 2 }'
}
