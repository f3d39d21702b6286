#!/usr/bin/env bash
# Access-log ingest benchmark (P6). For each format in DATAVOW_BENCH_FORMATS (default
# "combined vcombined common caddy"), in one run, on the same file:
#   1. datavow ingest into SQLite (durable: WAL, every block committed), the format
#      recognised from the first lines as a user runs it,
#   2. GoAccess (Debian package goaccess) building a JSON report with the matching
#      --log-format (COMBINED, VCOMBINED, COMMON, CADDY), the anchor;
# then datavow ingest of the combined file into PostgreSQL, when a server answers on
# 127.0.0.1:5432. Prints lines/s of each (median of DATAVOW_BENCH_RUNS runs, default
# 3), the ratio to GoAccess and the peak RSS (GNU time).
#
# Usage: scripts/bench-ingest.sh [LINES]   (default 1000000)
#
# The log comes from ../shared/bench/gen_access_log.py (or DATAVOW_GEN_LOG). Its default
# start date (2026-05-01) is past the policy's 6-month retention for browser data,
# and Datavow does not store records that are already due for erasure; so the log is
# generated for the 28 days up to today.
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-1000000}
gen=${DATAVOW_GEN_LOG:-../shared/bench/gen_access_log.py}
work=$(mktemp -d /tmp/datavow-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

need() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing $2 from Debian's packages" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
  fi
  command -v "$1" >/dev/null 2>&1 || { echo "bench: $1 (Debian package $2) is needed" >&2; exit 1; }
}
need goaccess goaccess
need /usr/bin/time time
if [ ! -f /usr/share/uap-core/regexes.yaml ]; then
  need true uap-core
  [ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq uap-core >/dev/null || true
fi

cargo build --release --locked -p datavow >&2
bin=target/release/datavow

start=$(date -u -d '27 days ago' +%Y-%m-%d)
echo "bench: generating $lines lines from $start" >&2
python3 "$gen" "$lines" --start "$start" --days 28 > "$work/access.log"

runs=${DATAVOW_BENCH_RUNS:-3}

# run NAME COMMAND... : prints "seconds peak_rss_kib" of the command.
run() {
  local name=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" > "$work/$name.out" 2> "$work/$name.err" || {
    echo "bench: $name failed:" >&2; cat "$work/$name.err" >&2; exit 1; }
  cat "$work/$name.time"
}
# median FILE : the median line of "seconds rss" lines, by seconds.
median() { sort -n "$1" | awk '{ l[NR] = $0 } END { print l[int((NR + 1) / 2)] }'; }
rate() { awk -v n="$lines" -v s="$1" 'BEGIN { printf "%.0f", n / (s > 0 ? s : 1e-9) }'; }
report() { # LABEL SECONDS RSS_KIB
  printf '%-28s %8s s %12s lines/s  peak RSS %6d MiB\n' "$1" "$2" "$(rate "$2")" $(($3 / 1024))
}

# The other formats are made from the generated combined log: the same requests, as
# Apache's vhost_combined, NCSA common and Caddy's JSON would have logged them.
convert() { # FORMAT < combined > FORMAT
  python3 -c '
import json, re, sys, datetime as dt
fmt = sys.argv[1]
line_re = re.compile(r"^(\S+) (\S+) (\S+) \[([^\]]+)\] \"((?:[^\"\\]|\\.)*)\" (\d{3}) (\S+) \"((?:[^\"\\]|\\.)*)\" \"((?:[^\"\\]|\\.)*)\"(.*)$")
out = sys.stdout
for line in sys.stdin:
    line = line.rstrip("\n")
    if fmt == "vcombined":
        out.write("www.example.com:443 " + line + "\n"); continue
    m = line_re.match(line)
    if not m:
        out.write(line + "\n"); continue
    host, ident, user, time, request, status, size, ref, ua, _ = m.groups()
    if fmt == "common":
        out.write(f"{host} {ident} {user} [{time}] \"{request}\" {status} {size}\n"); continue
    parts = request.split(" ")
    t = dt.datetime.strptime(time, "%d/%b/%Y:%H:%M:%S %z").timestamp()
    headers = {"User-Agent": [ua.replace("\\\"", "\"")]}
    if ref != "-":
        headers["Referer"] = [ref]
    entry = {"level": "info", "ts": t + 0.123456, "logger": "http.log.access", "msg": "handled request",
             "request": {"remote_ip": host, "client_ip": host, "remote_port": "41342", "proto": parts[-1] if len(parts) > 2 else "HTTP/1.1",
                         "method": parts[0], "host": "www.example.com", "uri": parts[1] if len(parts) > 1 else "/",
                         "headers": headers},
             "user_id": "" if user == "-" else user, "duration": 0.0009, "size": 0 if size == "-" else int(size),
             "status": int(status), "resp_headers": {"Content-Type": ["text/html"]}}
    out.write(json.dumps(entry, separators=(",", ":")) + "\n")
' "$1"
}

formats=${DATAVOW_BENCH_FORMATS:-combined vcombined common caddy}
echo "input: $lines lines; $(nproc) cores; median of $runs runs each; datavow recognises each format"
for format in $formats; do
  if [ "$format" = combined ]; then
    file="$work/access.log"
  else
    file="$work/access.$format"
    convert "$format" < "$work/access.log" > "$file"
  fi
  ga_format=$(echo "$format" | tr '[:lower:]' '[:upper:]')
  # Each tool runs $runs times, alternating, each datavow run into a fresh store; the
  # medians are compared.
  : > "$work/sqlite.runs"; : > "$work/goaccess.runs"
  for i in $(seq 1 "$runs"); do
    rm -rf "$work/data"
    run sqlite "$bin" ingest --data-dir "$work/data" "$file" >> "$work/sqlite.runs"
    run goaccess goaccess "$file" --log-format="$ga_format" -o "$work/report.json" >> "$work/goaccess.runs"
  done
  read -r dv_s dv_rss < <(median "$work/sqlite.runs")
  read -r ga_s ga_rss < <(median "$work/goaccess.runs")
  stored=$(awk '/^stored:/ { gsub(",", "", $2); print $2 }' "$work/sqlite.out")
  chosen=$(awk '/^format:/ { print $2 }' "$work/sqlite.out")
  echo "== $format ($((($(stat -c %s "$file")) / 1048576)) MiB; datavow read it as $chosen, stored $stored)"
  report "datavow ingest (SQLite)" "$dv_s" "$dv_rss"
  report "goaccess --log-format=$ga_format" "$ga_s" "$ga_rss"
  awk -v a="$ga_s" -v b="$dv_s" 'BEGIN { printf "ratio datavow/goaccess: %.2fx\n", a / b }'
  echo "all runs (s): datavow $(cut -d' ' -f1 "$work/sqlite.runs" | tr '\n' ' ')| goaccess $(cut -d' ' -f1 "$work/goaccess.runs" | tr '\n' ' ')"
done

if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  : > "$work/postgres.runs"
  for i in $(seq 1 "$runs"); do
    db="datavow_bench_$$_$i"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
    rm -rf "$work/pgdata"
    run postgres "$bin" ingest --data-dir "$work/pgdata" \
      --database-url "postgres://postgres@127.0.0.1:5432/$db" "$work/access.log" >> "$work/postgres.runs"
    psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE $db WITH (FORCE)" >/dev/null
  done
  read -r pg_s pg_rss < <(median "$work/postgres.runs")
  report "datavow ingest (PostgreSQL)" "$pg_s" "$pg_rss"
else
  echo "PostgreSQL: no server on 127.0.0.1:5432, skipped"
fi
