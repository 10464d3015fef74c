#!/usr/bin/env bash
# Capture what `curl wetransfer.com` really does, with curl and with wtcurl, as evidence for
# WALKTHROUGH.md: strace logs, pcap files, tcpdump text, wtcurl's --explain and --trace-json.
#
# Usage (as root):
#   scripts/captures.sh            lab mode: bring up scripts/netns-lab.sh (down again at exit) and
#                                  run everything inside the client namespace wtc-cli
#   scripts/captures.sh --real     real-internet mode: no lab, the same commands run directly on this
#                                  machine against the real wetransfer.com (no --cacert: system roots
#                                  for curl, built-in Mozilla roots for wtcurl)
#
# Output: captures/<name>/ for each run and captures/README.md (commands, tool versions, dates).
# Environment: WTCURL (default target/release/wtcurl), OUT (default captures).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
MODE=lab
[ "${1:-}" = "--real" ] && MODE=real
WTCURL=${WTCURL:-$ROOT/target/release/wtcurl}
OUT=${OUT:-$ROOT/captures}
LAB="$ROOT/scripts/netns-lab.sh"

die() { printf 'captures: ERROR: %s\n' "$*" >&2; exit 1; }
log() { printf 'captures: %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || die "run as root (tcpdump, --packets and ip netns need it)"
for t in curl strace tcpdump; do command -v "$t" >/dev/null || die "$t is not installed"; done
[ -x "$WTCURL" ] || die "no $WTCURL: run cargo build --release first"

# Put wtcurl on PATH so that it is started by name, like curl (the PATH lookup is part of the story).
BIN_DIR=$(dirname "$WTCURL")
export PATH="$BIN_DIR:$PATH"

if [ "$MODE" = lab ]; then
    trap '"$LAB" down >/dev/null 2>&1 || true' EXIT
    "$LAB" up >/dev/null
    CA=$("$LAB" ca)
    # Run a command inside the client namespace (proxy variables removed by netns-lab.sh).
    inns() { "$LAB" exec "$@"; }
    CACERT_CURL=(--cacert "$CA")
    CACERT_WT=(--cacert "$CA")
    CA_SHOWN=LAB_CA
else
    inns() { "$@"; }
    CACERT_CURL=()
    CACERT_WT=()
    CA_SHOWN=
fi

mkdir -p "$OUT"
TCPDUMP_PID=

# Start tcpdump -i any in the namespace, wait until it says "listening on".
start_tcpdump() {
    local pcap=$1 err=$2
    : >"$err"
    rm -f "$OUT/.tcpdump.pid"
    # sh writes its own pid, then exec()s tcpdump in place: that pid is tcpdump's.
    inns sh -c 'echo $$ >"$1"; shift; exec tcpdump "$@"' sh "$OUT/.tcpdump.pid" \
        -i any -n -U --immediate-mode -s 0 -w "$pcap" 'not port 22' 2>"$err" &
    for _ in $(seq 1 100); do
        TCPDUMP_PID=$(cat "$OUT/.tcpdump.pid" 2>/dev/null || true)
        grep -q 'listening on' "$err" && return 0
        sleep 0.05
    done
    die "tcpdump did not start: $(cat "$err")"
}

stop_tcpdump() {
    sleep 1 # let the last FIN/ACKs be seen
    kill -INT "$TCPDUMP_PID" 2>/dev/null || true
    wait # the background job that runs it
    rm -f "$OUT/.tcpdump.pid"
    TCPDUMP_PID=
}

declare -a RUN_LINES=()

# run NAME DESCRIPTION -- CMD...   (CMD may contain @D@, replaced by the run's directory)
run() {
    local name=$1 desc=$2
    shift 3
    local d="$OUT/$name"
    rm -rf "$d"
    mkdir -p "$d"
    local args=() a
    for a in "$@"; do args+=("${a//@D@/$d}"); done
    local shown="${*//@D@/captures/$name}"
    [ -n "${CA:-}" ] && shown="${shown//$CA/LAB_CA}"
    log "$name: $shown"
    start_tcpdump "$d/packets.pcap" "$d/tcpdump.stderr"
    local date
    date=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
    set +e
    inns strace -f -tt -T -o "$d/strace.log" "${args[@]}" >"$d/stdout" 2>"$d/stderr"
    local rc=$?
    set -e
    stop_tcpdump
    echo "$rc" >"$d/exit-status"
    chown "$(id -u):$(id -g)" "$d/packets.pcap"
    # read inside the namespace too: the pcap stores interface indexes, named by the reader
    inns tcpdump -n -tt -r "$d/packets.pcap" >"$d/tcpdump.txt" 2>/dev/null || true
    rm -f "$d/tcpdump.stderr"
    # The strace log holds the lab CA path; show it as LAB_CA like the commands do.
    if [ -n "${CA:-}" ]; then
        sed -i "s|$CA|LAB_CA|g" "$d"/strace.log "$d"/stderr "$d"/*.json 2>/dev/null || true
    fi
    RUN_LINES+=("| \`$name\` | $date | \`strace -f -tt -T -o captures/$name/strace.log $shown\` | $rc | $desc |")
}

run curl-plain "curl, no -L: stops at the 301" -- \
    curl wetransfer.com
run curl-follow "curl -L: the 301, then HTTPS" -- \
    curl -L "${CACERT_CURL[@]}" wetransfer.com
run wtcurl-plain "wtcurl, no -L, --explain on stderr" -- \
    wtcurl wetransfer.com --explain --trace-json @D@/trace.json
run wtcurl-follow "wtcurl -L with its own packet capture" -- \
    wtcurl -L wetransfer.com --explain "${CACERT_WT[@]}" --trace-json @D@/trace.json --packets --pcap @D@/wtcurl.pcap
run wtcurl-kernel "wtcurl with the kernel's view of the path and the close, and the ladder built from syscalls" -- \
    wtcurl wetransfer.com --explain --kernel-view --ladder --trace-json @D@/trace.json

# In the wtcurl runs stderr is the --explain output: give it its name.
for n in wtcurl-plain wtcurl-follow wtcurl-kernel; do mv "$OUT/$n/stderr" "$OUT/$n/explain.txt"; done
[ -f "$OUT/wtcurl-follow/wtcurl.pcap" ] &&
    inns tcpdump -n -tt -r "$OUT/wtcurl-follow/wtcurl.pcap" >"$OUT/wtcurl-follow/wtcurl-pcap.txt" 2>/dev/null || true

ver() { "$@" 2>&1 | head -n 1; }
{
    echo "# Captures"
    echo
    echo "Made by \`scripts/captures.sh\` (mode: **$MODE**) as root. Evidence for [WALKTHROUGH.md](../WALKTHROUGH.md)."
    if [ "$MODE" = lab ]; then
        cat <<'EOF'

Everything ran inside the client namespace `wtc-cli` of `scripts/netns-lab.sh`: dnsmasq on 192.0.2.1
answers `wetransfer.com` with A 192.0.2.1 / AAAA 2001:db8::1, nginx on port 80 answers
`301 Moved Permanently` to `https://wetransfer.com/`, nginx on 443 serves a tiny page over TLS with a
certificate signed by the lab CA (`LAB_CA` = the path `scripts/netns-lab.sh ca` prints; it is written as
`LAB_CA` in the commands and in the logs below). No packet left the lab.
EOF
    fi
    cat <<'EOF'

## Files in each `captures/<name>/`

| file | what |
|---|---|
| `strace.log` | `strace -f -tt -T`: every syscall of the command and its children, wall clock time, duration in `<>` |
| `packets.pcap` | `tcpdump -i any -n -U --immediate-mode -s 0 -w` in the same namespace, started (and seen "listening on") before the run, stopped 1 s after |
| `tcpdump.txt` | `tcpdump -n -tt -r packets.pcap` |
| `stdout`, `exit-status` | what the command printed on stdout, and its exit status |
| `stderr` (curl) / `explain.txt` (wtcurl) | stderr; for wtcurl that is the `--explain` output |
| `trace.json` (wtcurl) | `--trace-json`: one JSON event per line |
| `wtcurl.pcap`, `wtcurl-pcap.txt` (wtcurl-follow) | wtcurl's own `--pcap` capture and its `tcpdump -n -tt -r` text |

Note that `strace` slows the traced program down (each syscall stops it), so durations in these
captures are larger than in an untraced run.
EOF
    # Say where the wtcurl that ran lives: it is first on PATH, and its path shows up in the logs.
    case "$BIN_DIR" in
    "$ROOT"/*) bin_shown=${BIN_DIR#"$ROOT"/} ;;
    *) bin_shown=$BIN_DIR ;;
    esac
    echo "wtcurl was started by name, with \`$bin_shown\` first on \`PATH\`, so that it too goes through a"
    echo "PATH lookup (that directory is the executable's path in the logs and in phase 0 of \`explain.txt\`)."
    cat <<'EOF'

## Runs

| name | date (UTC) | command | exit | what |
|---|---|---|---|---|
EOF
    for l in "${RUN_LINES[@]}"; do echo "$l"; done
    echo
    echo "## Tool versions"
    echo
    echo '```text'
    echo "curl:    $(ver curl --version)"
    echo "wtcurl:  $(ver wtcurl --version) ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo "strace:  $(ver strace -V)"
    echo "tcpdump: $(ver tcpdump --version)"
    echo "libpcap: $(tcpdump --version 2>&1 | sed -n 2p)"
    if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
        echo "nginx:   $(ver "$(command -v nginx || echo /usr/sbin/nginx)" -v)"
    fi
    if command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ]; then
        echo "dnsmasq: $(ver "$(command -v dnsmasq || echo /usr/sbin/dnsmasq)" --version)"
    fi
    echo "kernel:  $(uname -srm)"
    echo "glibc:   $(ldd --version 2>&1 | head -n 1)"
    echo '```'
    cat <<'EOF'

## Running it against the real internet

On your own machine (Linux, root, curl, strace and tcpdump installed, a release build of wtcurl):

```sh
cargo build --release
sudo scripts/captures.sh --real           # or OUT=/tmp/real-captures sudo -E scripts/captures.sh --real
```

`--real` skips the lab: no namespaces, no dnsmasq or nginx, no `--cacert`. The same five commands
run directly, with the machine's own resolver, routes and CA store (curl) or wtcurl's built-in Mozilla
roots; tcpdump still listens on `any`, so it also records unrelated traffic of the machine during the
runs (filter with e.g. `tcpdump -r packets.pcap host <address>`). Expect differences from the lab:
a CDN/anycast address (and probably IPv6 first if you have it), a real certificate chain with
intermediates, HSTS and HTTP/2 via ALPN for curl (`curl -L` offers `h2,http/1.1`; wtcurl offers only
`http/1.1`), larger pages and longer round trips. Those captures are not in this folder: they
were not made here (this machine has no internet).
EOF
} >"$OUT/README.md"

log "done: $OUT"
ls -la "$OUT"/* >&2
