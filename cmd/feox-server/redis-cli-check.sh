#!/usr/bin/env bash
# Drives a built feox-server with redis-cli (Debian's redis-tools), a client nobody here wrote:
# the basic commands, an error reply, a value kept across a SIGTERM and a restart. Exits
# non-zero on the first reply that differs from what Redis would print. Run from anywhere;
# .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v redis-cli >/dev/null || { echo "redis-cli is missing: apt-get install redis-tools"; exit 1; }
dir=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
go build -o "$dir/feox-server" ./cmd/feox-server
port=$((20000 + RANDOM % 20000))

start() {
	"$dir/feox-server" --addr "127.0.0.1:$port" --path "$dir/data.feox" 2>>"$dir/log" &
	pid=$!
	for _ in $(seq 100); do
		[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && return
		sleep 0.1
	done
	echo "feox-server did not answer PING on port $port"; cat "$dir/log"; exit 1
}

# check WANT ARGS...: redis-cli ARGS must print exactly WANT (lines joined by |).
check() {
	local want=$1; shift
	local got
	got=$(redis-cli -p "$port" "$@" | paste -sd'|')
	if [ "$got" != "$want" ]; then
		echo "redis-cli $*: printed '$got', want '$want'"; exit 1
	fi
}

start
check PONG PING
check hello ECHO hello
check OK SET greeting hello
check hello GET greeting
check '' GET absent
check 5 STRLEN greeting
check 12 APPEND greeting ', world'
check 'hello, world' GET greeting
check 1 EXISTS greeting
check OK MSET a 1 b 2
check '1|2|' MGET a b absent
check 11 INCRBY a 10
check 10 DECR a
check -1 TTL greeting
check OK SET session s EX 100
check 1 PERSIST session
check -1 TTL session
check 1 CAS b 2 3
check 3 GET b
check OK JSON.PATCH b '[{"op":"replace","path":"","value":[4]}]'
check '[4]' GET b
check "ERR unknown command 'NOSUCH', with args beginning with: 'x' |" NOSUCH x # an error, then a blank line
check PONG PING
check 1 DEL b
check 0 EXISTS b
check OK FLUSH

# A stop by signal closes the store; what it held is there after a restart.
kill -TERM "$pid"
wait "$pid"
pid=
start
check 'hello, world' GET greeting
check 10 GET a
check 0 EXISTS b
kill -TERM "$pid"
wait "$pid" # set -e: a stop by signal must exit 0
pid=
echo "redis-cli check passed"
