#!/usr/bin/env bash
# Runs redis-benchmark against feox-server and redis-server on this machine, one after the
# other, with the same flags, and prints a Markdown table: ops/s, p50 and p99 per command, and
# each server's RSS at the end of its run. Pairs by persistence class:
#   memory      feox-server without --path       redis-server without persistence
#   behind      feox-server --fsync behind       redis-server appendonly, appendfsync everysec
#   always      feox-server --fsync always       redis-server appendonly, appendfsync always
# Needs Debian's redis-server and redis-tools. N (requests per command, default 1000000),
# CLIENTS (default 50), PIPELINES (default "1 16") and CLASSES (default "memory behind always")
# may be set in the environment. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${N:-1000000}
CLIENTS=${CLIENTS:-50}
PIPELINES=${PIPELINES:-1 16}
CLASSES=${CLASSES:-memory behind always}
for tool in redis-server redis-benchmark redis-cli; do
	command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install redis-server redis-tools"; exit 1; }
done
dir=$(mktemp -d)
pid=
stop() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	fi
}
trap 'stop; rm -rf "$dir"' EXIT
go build -o "$dir/feox-server" ./cmd/feox-server
port=$((20000 + RANDOM % 20000))

wait_ping() {
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && return
		sleep 0.1
	done
	echo "no PONG on port $port"; exit 1
}

# start SERVER CLASS: starts feox or redis for a persistence class on a fresh directory.
start() {
	local data="$dir/$1-$2"
	rm -rf "$data" && mkdir -p "$data"
	case "$1/$2" in
	feox/memory) "$dir/feox-server" --addr "127.0.0.1:$port" 2>>"$dir/log" & ;;
	feox/behind) "$dir/feox-server" --addr "127.0.0.1:$port" --path "$data/data.feox" --fsync behind 2>>"$dir/log" & ;;
	feox/always) "$dir/feox-server" --addr "127.0.0.1:$port" --path "$data/data.feox" --fsync always 2>>"$dir/log" & ;;
	redis/memory) redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --save '' --appendonly no >>"$dir/log" & ;;
	redis/behind) redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --save '' --appendonly yes --appendfsync everysec >>"$dir/log" & ;;
	redis/always) redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --save '' --appendonly yes --appendfsync always >>"$dir/log" & ;;
	esac
	pid=$!
	wait_ping
}

rss() { awk '/VmRSS/ {printf "%d MiB", $2/1024}' "/proc/$pid/status"; }

echo "| class | server | -P | command | ops/s | p50 ms | p99 ms |"
echo "|---|---|---|---|---|---|---|"
for class in $CLASSES; do
	for server in feox redis; do
		for p in $PIPELINES; do
			start "$server" "$class"
			redis-benchmark -p "$port" -t set,get,incr,mset -n "$N" -r 1000000 -d 100 -c "$CLIENTS" \
				-P "$p" --csv >"$dir/out.csv"
			# CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
			tail -n +2 "$dir/out.csv" | tr -d '"' | while IFS=, read -r test rps _ _ p50 _ p99 _; do
				echo "| $class | $server | $p | $test | $rps | $p50 | $p99 |"
			done
			echo "| $class | $server | $p | RSS after the run | $(rss) | | |"
			stop
		done
	done
done
