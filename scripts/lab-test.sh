#!/usr/bin/env bash
# End-to-end test in the netns lab (scripts/netns-lab.sh): real curl and wtcurl both ask
# "wetransfer.com" on port 80 from inside wtc-cli, through the lab's own DNS, and must agree.
#
#   1. curl -sS -i wetransfer.com           -> 301, Location: https://wetransfer.com/  (proves the lab)
#   2. wtcurl -i wetransfer.com --explain   -> same status line, Location and body bytes as curl
#      (Date ignored), a non-empty explanation on stderr that names the address it connected to,
#      and a DNS query that reached the lab's dnsmasq.
#   3. over TLS, trusting only the lab CA (netns-lab.sh makes it on `up`):
#        curl -sS -L --cacert LAB_CA wetransfer.com
#        wtcurl -L wetransfer.com --explain --cacert LAB_CA
#      both exit 0 with the same body bytes (the lab page from port 443), and wtcurl's explanation
#      tells the 301 hop and then the TLS hop in order: 301, "hop 2", TLS, ClientHello,
#      ServerHello, certificate verified (by the lab CA), TLS 1.3, HTTP/1.1 200, exit 0.
#   4. wtcurl-check: fresh runs inside wtc-cli under `strace -f -tt -T -o …`, each with
#      `--trace-json … --packets --pcap …`:
#        wtcurl -L wetransfer.com --cacert LAB_CA   (the 301 over HTTP, then HTTPS)
#        wtcurl wetransfer.com                      (plain, stops at the 301)
#      wtcurl-check must find 0 mismatches between each trace, its strace log and its pcap; and
#      0 mismatches for the committed captures/wtcurl-plain and captures/wtcurl-follow.
#   5. wtcurl wetransfer.com --explain --kernel-view: the route (dev, source) matches `ip route get`,
#      the next hop's ARP entry is the server veth's MAC (and `ip neigh`'s), the interface MTU is
#      `ip link`'s, and after close the kernel shows TIME_WAIT on wtcurl's side.
#   6. --packets against tcpdump listening on the same veth during the same run (plain and -L over
#      TLS): the same packets, in the same order, with the same flags, seq/ack and lengths, in
#      wtcurl's pcap and in its own decoded lines; each connection's S, S., . and FIN each way.
#
# Env: WTCURL=path (default: ${CARGO_TARGET_DIR:-target}/debug/wtcurl)
#      WTCURL_CHECK=path (default: ${CARGO_TARGET_DIR:-target}/debug/wtcurl-check)
#      Both default binaries are built with `cargo build` if either is missing.
#      WTCURL_LAB_SKIP_WTCURL=1 skips steps 2 to 4 (only while the CLI does not exist yet)
#      CI=true: a missing tool or root is a failure, never a skip.
# Needs root. Always tears the lab down on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB="$ROOT/scripts/netns-lab.sh"
WTCURL=${WTCURL:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/wtcurl}
case "$WTCURL" in /*) ;; *) WTCURL="$ROOT/$WTCURL" ;; esac
WTCURL_CHECK=${WTCURL_CHECK:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/wtcurl-check}
case "$WTCURL_CHECK" in /*) ;; *) WTCURL_CHECK="$ROOT/$WTCURL_CHECK" ;; esac
EXPECT_LOCATION="https://wetransfer.com/"
EXPECT_TLS_BODY='<html><body>wetransfer lab page</body></html>'
LAB_DIR=${WTC_LAB_DIR:-/tmp/wtc-lab}
OUT=""

is_ci() { case "${CI:-}" in true | TRUE | True | 1) return 0 ;; *) return 1 ;; esac; }

FAILS=0
PASSES=0
pass() {
    PASSES=$((PASSES + 1))
    printf 'PASS: %s\n' "$*"
}
fail() {
    FAILS=$((FAILS + 1))
    printf 'FAIL: %s\n' "$*"
}
skip_or_fail() {
    if is_ci; then
        fail "$* (CI=true: missing prerequisites are failures)"
        finish
    fi
    printf 'SKIP: %s\n' "$*"
    exit 0
}

show_logs() {
    local f
    for f in "$LAB_DIR/dnsmasq.log" "$LAB_DIR/nginx-error.log" "$LAB_DIR/nginx-access.log"; do
        [ -f "$f" ] || continue
        printf -- '--- %s (last 20 lines) ---\n' "$f"
        tail -n 20 "$f"
    done
}

finish() {
    if [ "$FAILS" -gt 0 ]; then
        show_logs
    fi
    printf 'lab: %d passed, %d failed\n' "$PASSES" "$FAILS"
    if [ "$FAILS" -gt 0 ]; then exit 1; fi
    exit 0
}

# shellcheck disable=SC2317,SC2329 # invoked by the EXIT trap
cleanup() {
    "$LAB" down >/dev/null 2>&1 || printf 'WARN: lab teardown failed\n' >&2
    if [ -n "$OUT" ]; then rm -rf "$OUT"; fi
}

# --- prerequisites ---------------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
    skip_or_fail "lab test needs root (ip netns)"
fi
for tool in ip nginx dnsmasq openssl curl perl getent timeout; do
    if ! command -v "$tool" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$tool" ] && ! [ -x "/sbin/$tool" ]; then
        skip_or_fail "lab test needs '$tool'"
    fi
done

# One lab per machine: wait for another run (e.g. a developer's and CI's) to finish.
exec 9>/tmp/wtc-lab.lock
if command -v flock >/dev/null 2>&1 && ! flock -w 300 9; then
    fail "another lab run holds /tmp/wtc-lab.lock for more than 300 s"
    finish
fi

trap cleanup EXIT
OUT=$(mktemp -d /tmp/wtc-lab-test.XXXXXX)

# Header/body helpers (perl is Essential on Debian). A response is "head CRLF CRLF body";
# LF-only separators are accepted too.
# commas 65536 -> 65,536 (how --explain prints numbers).
commas() { printf '%s' "$1" | sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta'; }
resp_head() { perl -0777 -ne 'if (/\A(.*?)\r?\n\r?\n/s) { print $1 } else { print $_ }' "$1"; }
resp_body() { perl -0777 -ne 'print $1 if /\A.*?\r?\n\r?\n(.*)\z/s' "$1"; }
status_line() { resp_head "$1" | head -n 1 | tr -d '\r'; }
header() { resp_head "$1" | tr -d '\r' | awk -v n="$2" 'BEGIN { n = tolower(n) } { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'; }
# in_order FILE STRING...: each fixed STRING is found on a line after the previous one's line
# (the same line counts for consecutive strings). Prints the first one missing or out of order.
in_order() {
    local file=$1 from=1 s n
    shift
    for s in "$@"; do
        n=$(tail -n "+$from" "$file" | grep -n -F -m 1 -- "$s" | cut -d: -f1 || true)
        if [ -z "$n" ]; then
            printf '%s' "$s"
            return 1
        fi
        from=$((from + n - 1))
    done
}
dns_queries() { grep -c "query\[[A-Z]*\] wetransfer.com from 192.0.2.2" "$LAB_DIR/dnsmasq.log" 2>/dev/null || true; }

# --- 1. the lab itself, checked with real curl ------------------------------------------------
if "$LAB" up >"$OUT/up.log" 2>&1; then
    pass "lab up (namespaces wtc-srv/wtc-cli, dnsmasq, nginx)"
else
    cat "$OUT/up.log"
    fail "lab up"
    finish
fi

q0=$(dns_queries)
if "$LAB" exec curl -sS -i --max-time 10 wetransfer.com >"$OUT/curl.out" 2>"$OUT/curl.err"; then
    pass "curl -sS -i wetransfer.com ran inside wtc-cli"
else
    cat "$OUT/curl.err"
    fail "curl -sS -i wetransfer.com inside wtc-cli (exit $?)"
    finish
fi
curl_status=$(status_line "$OUT/curl.out")
curl_location=$(header "$OUT/curl.out" location)
if [ "$curl_status" = "HTTP/1.1 301 Moved Permanently" ]; then
    pass "curl: status line '$curl_status'"
else
    fail "curl: status line '$curl_status', expected 'HTTP/1.1 301 Moved Permanently'"
fi
if [ "$curl_location" = "$EXPECT_LOCATION" ]; then
    pass "curl: Location: $curl_location"
else
    fail "curl: Location '$curl_location', expected '$EXPECT_LOCATION'"
fi
resp_body "$OUT/curl.out" >"$OUT/curl.body"
if grep -q '<title>301 Moved Permanently</title>' "$OUT/curl.body"; then
    pass "curl: body is nginx's 301 page ($(wc -c <"$OUT/curl.body") bytes)"
else
    fail "curl: unexpected body"
fi
q1=$(dns_queries)
if [ "$q1" -gt "$q0" ]; then
    pass "curl's DNS queries reached the lab dnsmasq ($((q1 - q0)) logged from 192.0.2.2)"
else
    fail "curl resolved wetransfer.com without asking the lab dnsmasq"
fi

# --- 2. wtcurl against the same server --------------------------------------------------------
if [ "${WTCURL_LAB_SKIP_WTCURL:-}" = "1" ]; then
    printf 'SKIP: wtcurl part (WTCURL_LAB_SKIP_WTCURL=1)\n'
    finish
fi
if { [ ! -x "$WTCURL" ] || [ ! -x "$WTCURL_CHECK" ]; } && command -v cargo >/dev/null 2>&1; then
    printf 'building: cargo build (wtcurl or wtcurl-check missing)\n'
    if ! (cd "$ROOT" && cargo build) >"$OUT/cargo-build.log" 2>&1; then
        tail -n 30 "$OUT/cargo-build.log"
        fail "cargo build failed"
        finish
    fi
fi
if [ ! -x "$WTCURL" ]; then
    fail "wtcurl binary not found at $WTCURL (build it with 'cargo build', set WTCURL=path, or WTCURL_LAB_SKIP_WTCURL=1 to skip this part)"
    finish
fi

set +e
"$LAB" exec "$WTCURL" -i wetransfer.com --explain >"$OUT/wtcurl.out" 2>"$OUT/wtcurl.err" </dev/null
wt_rc=$?
set -e
q2=$(dns_queries)
if [ "$wt_rc" -eq 0 ]; then
    pass "wtcurl -i wetransfer.com --explain exited 0"
else
    fail "wtcurl -i wetransfer.com --explain exited $wt_rc; stderr (last 20 lines):"
    tail -n 20 "$OUT/wtcurl.err"
fi
wt_status=$(status_line "$OUT/wtcurl.out")
wt_location=$(header "$OUT/wtcurl.out" location)
if [ -n "$wt_status" ] && [ "$wt_status" = "$curl_status" ]; then
    pass "wtcurl: status line matches curl ('$wt_status')"
else
    fail "wtcurl: status line '$wt_status' != curl's '$curl_status'"
fi
if [ "$wt_location" = "$curl_location" ]; then
    pass "wtcurl: Location matches curl ($wt_location)"
else
    fail "wtcurl: Location '$wt_location' != curl's '$curl_location'"
fi
resp_body "$OUT/wtcurl.out" >"$OUT/wtcurl.body"
if cmp -s "$OUT/curl.body" "$OUT/wtcurl.body"; then
    pass "wtcurl: body bytes identical to curl's ($(wc -c <"$OUT/wtcurl.body") bytes)"
else
    fail "wtcurl: body differs from curl's ($(wc -c <"$OUT/wtcurl.body") vs $(wc -c <"$OUT/curl.body") bytes)"
    diff <(od -c "$OUT/curl.body") <(od -c "$OUT/wtcurl.body") | head -n 20 || true
fi
if [ -s "$OUT/wtcurl.err" ]; then
    pass "wtcurl: --explain wrote an explanation to stderr ($(wc -l <"$OUT/wtcurl.err") lines)"
else
    fail "wtcurl: --explain wrote nothing to stderr"
fi
if grep -qE '192\.0\.2\.1|2001:db8::1' "$OUT/wtcurl.err"; then
    pass "wtcurl: explanation names the server address (192.0.2.1 or 2001:db8::1)"
else
    fail "wtcurl: explanation does not mention 192.0.2.1 or 2001:db8::1"
fi
if [ "$q2" -gt "$q1" ]; then
    pass "wtcurl's DNS queries reached the lab dnsmasq ($((q2 - q1)) logged)"
else
    fail "wtcurl did not query the lab dnsmasq for wetransfer.com"
fi

# --- 3. -L to https://wetransfer.com/, trusting the lab CA only --------------------------------
LAB_CA=$("$LAB" ca 2>/dev/null || true)
if [ -n "$LAB_CA" ] && [ -s "$LAB_CA" ]; then
    pass "lab CA at $LAB_CA"
else
    fail "netns-lab.sh ca gave no CA file ('$LAB_CA')"
    finish
fi

set +e
"$LAB" exec timeout 30 curl -sS -L --cacert "$LAB_CA" wetransfer.com >"$OUT/curl-tls.body" 2>"$OUT/curl-tls.err" </dev/null
curl_tls_rc=$?
set -e
if [ "$curl_tls_rc" -eq 0 ]; then
    pass "curl -sS -L --cacert LAB_CA wetransfer.com exited 0"
else
    fail "curl -sS -L --cacert LAB_CA wetransfer.com exited $curl_tls_rc: $(head -c 400 "$OUT/curl-tls.err")"
fi
if [ "$(cat "$OUT/curl-tls.body")" = "$EXPECT_TLS_BODY" ]; then
    pass "curl: body is the lab page from port 443 ($(wc -c <"$OUT/curl-tls.body") bytes)"
else
    fail "curl: body over TLS is not the lab page: $(head -c 200 "$OUT/curl-tls.body")"
fi

set +e
"$LAB" exec timeout 30 "$WTCURL" -L wetransfer.com --explain --cacert "$LAB_CA" >"$OUT/wtcurl-tls.body" 2>"$OUT/wtcurl-tls.err" </dev/null
wt_tls_rc=$?
set -e
if [ "$wt_tls_rc" -eq 0 ]; then
    pass "wtcurl -L wetransfer.com --explain --cacert LAB_CA exited 0"
else
    fail "wtcurl -L wetransfer.com --explain --cacert LAB_CA exited $wt_tls_rc; stderr (last 20 lines):"
    tail -n 20 "$OUT/wtcurl-tls.err"
fi
if [ -s "$OUT/curl-tls.body" ] && cmp -s "$OUT/curl-tls.body" "$OUT/wtcurl-tls.body"; then
    pass "wtcurl -L over TLS: body bytes identical to curl's ($(wc -c <"$OUT/wtcurl-tls.body") bytes)"
else
    fail "wtcurl -L over TLS: body differs from curl's ($(wc -c <"$OUT/wtcurl-tls.body") vs $(wc -c <"$OUT/curl-tls.body") bytes)"
    diff <(od -c "$OUT/curl-tls.body") <(od -c "$OUT/wtcurl-tls.body") | head -n 20 || true
fi
# The story in order: the 301 on port 80, the second hop, its TLS handshake, the page.
if missing=$(in_order "$OUT/wtcurl-tls.err" \
    "< HTTP/1.1 301 Moved Permanently" \
    "< Location: $EXPECT_LOCATION" \
    "hop 2 (redirect 1)" \
    "https://wetransfer.com/" \
    "TLS on fd" \
    "SNI wetransfer.com" \
    "ClientHello" \
    "ServerHello" \
    "certificate verified" \
    "wtcurl netns lab CA" \
    "DNS:wetransfer.com matches the host" \
    "= TLS 1.3" \
    "< HTTP/1.1 200 OK" \
    "HTTP 200, exit 0"); then
    pass "wtcurl: explanation shows the 301 hop, then hop 2's TLS handshake (ClientHello, ServerHello, certificate verified by the lab CA, TLS 1.3), then HTTP/1.1 200"
else
    fail "wtcurl: explanation lacks '$missing' (or has it out of order); the TLS part:"
    grep -n -E 'hop|TLS|Hello|certificate|HTTP/1.1|exit' "$OUT/wtcurl-tls.err" | head -n 40 || true
fi

# --- 4. wtcurl-check: fresh traces against strace's log and the pcap, and the committed captures --
# check_run LABEL TRACE STRACE_LOG [PCAP]: wtcurl-check must exit 0 and report "0 mismatches".
check_run() {
    local label=$1 trace=$2 slog=$3 pcap=${4:-} rc=0 out last summary
    local args=(--trace "$trace" --strace "$slog")
    if [ -n "$pcap" ]; then args+=(--pcap "$pcap"); fi
    out="$OUT/check-$(printf '%s' "$label" | tr -c 'A-Za-z0-9' '_').txt"
    "$WTCURL_CHECK" "${args[@]}" >"$out" 2>&1 || rc=$?
    last=$(tail -n 1 "$out")
    summary=$(grep -E '^(syscalls|packets): ' "$out" | sed -E 's/^([a-z]+): ([0-9]+) in trace, ([0-9]+) in (strace|pcap), ([0-9]+) compared$/\5 \1 compared/' | paste -sd ',' - | sed 's/,/, /g' || true)
    if [ "$rc" -eq 0 ] && [ "$last" = "0 mismatches" ]; then
        pass "wtcurl-check $label: 0 mismatches (${summary:-nothing compared})"
    else
        fail "wtcurl-check $label: exit $rc, '$last'; first mismatches:"
        grep -E '^mismatch' "$out" | head -n 40 || true
        grep -vE '^mismatch' "$out" | head -n 10 || true
    fi
}

if [ ! -x "$WTCURL_CHECK" ]; then
    fail "wtcurl-check binary not found at $WTCURL_CHECK (build it with 'cargo build' or set WTCURL_CHECK=path)"
    finish
fi
if ! command -v strace >/dev/null 2>&1; then
    if is_ci; then
        fail "wtcurl-check part needs 'strace' (CI=true: missing prerequisites are failures)"
    else
        printf "SKIP: wtcurl-check of fresh runs (needs 'strace')\n"
    fi
else
    # name|wtcurl arguments (before --trace-json …); LAB_CA is substituted below.
    for spec in "follow|-L wetransfer.com --cacert LAB_CA" "plain|wetransfer.com"; do
        name=${spec%%|*}
        read -r -a wt_args <<<"${spec#*|}"
        for i in "${!wt_args[@]}"; do
            if [ "${wt_args[$i]}" = LAB_CA ]; then wt_args[i]=$LAB_CA; fi
        done
        shown="wtcurl ${spec#*|} --trace-json … --packets --pcap …"
        d="$OUT/strace-$name"
        mkdir -p "$d"
        set +e
        "$LAB" exec timeout 60 strace -f -tt -T -o "$d/strace.log" \
            "$WTCURL" "${wt_args[@]}" --trace-json "$d/trace.json" --packets --pcap "$d/wtcurl.pcap" \
            >"$d/stdout" 2>"$d/stderr" </dev/null
        st_rc=$?
        set -e
        if [ "$st_rc" -eq 0 ] && [ -s "$d/trace.json" ] && [ -s "$d/strace.log" ] && [ -s "$d/wtcurl.pcap" ]; then
            pass "strace -f -tt -T $shown exited 0 (trace, strace log and pcap written)"
            check_run "fresh $name run" "$d/trace.json" "$d/strace.log" "$d/wtcurl.pcap"
        else
            fail "strace -f -tt -T $shown exited $st_rc (trace $(wc -c <"$d/trace.json" 2>/dev/null || echo 0) bytes, pcap $(wc -c <"$d/wtcurl.pcap" 2>/dev/null || echo 0) bytes); stderr (last 20 lines):"
            tail -n 20 "$d/stderr"
        fi
    done
fi

# --- 5. --kernel-view: the kernel's own view of the path, compared with ip(8) in the namespace ---
# wtcurl asks over netlink; `ip route get`, `ip neigh` and `ip link` (also netlink, but iproute2's
# own code) must tell the same story: the route's device and source, the server's MAC in the
# client's ARP/NDP table (as the server's veth reports it), and the interface's MTU.
kv="$OUT/kernel-view"
mkdir -p "$kv"
set +e
"$LAB" exec "$WTCURL" -s -o /dev/null --no-color wetransfer.com --explain --kernel-view \
    --trace-json "$kv/trace.json" >"$kv/stdout" 2>"$kv/explain.txt" </dev/null
kv_rc=$?
set -e
if [ "$kv_rc" -eq 0 ]; then
    pass "wtcurl wetransfer.com --explain --kernel-view exited 0 in wtc-cli"
else
    fail "wtcurl --kernel-view exited $kv_rc; stderr (last 20 lines):"
    tail -n 20 "$kv/explain.txt"
fi
# The server address wtcurl connected to (Happy Eyeballs: usually 2001:db8::1, else 192.0.2.1).
peer_ip=$(perl -ne 'if (/"type":"kernel_path".*?"peer":"\[?([0-9a-f.:]+?)\]?:\d+"/) { print "$1\n"; exit }' "$kv/trace.json" 2>/dev/null)
peer_ip=${peer_ip:-192.0.2.1}
route_line=$("$LAB" exec ip route get "$peer_ip" 2>/dev/null | head -n 1)
route_dev=$(printf '%s\n' "$route_line" | sed -n 's/.* dev \([^ ]*\).*/\1/p')
route_src=$(printf '%s\n' "$route_line" | sed -n 's/.* src \([^ ]*\).*/\1/p')
if [ -n "$route_dev" ] && grep -qF "route: unicast $peer_ip dev $route_dev, table main, preferred source $route_src" "$kv/explain.txt"; then
    pass "kernel view: route matches 'ip route get $peer_ip' (dev $route_dev, src $route_src)"
else
    fail "kernel view: route does not match 'ip route get $peer_ip' ($route_line); wtcurl said: $(grep -m1 'route:' "$kv/explain.txt" || echo nothing)"
fi
srv_mac=$("$LAB" srv-exec ip -o link show 2>/dev/null | awk '/link\/ether/ { for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }' | head -n 1)
neigh_mac=$("$LAB" exec ip neigh show "$peer_ip" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1) }' | head -n 1)
if [ -n "$srv_mac" ] && [ "$srv_mac" = "$neigh_mac" ] && grep -qE "next hop $peer_ip \(the server itself: it is on the link\): (ARP|NDP) entry $srv_mac," "$kv/explain.txt"; then
    pass "kernel view: next hop $peer_ip's neighbour entry is the server veth's MAC ($srv_mac), as 'ip neigh' shows"
else
    fail "kernel view: ARP entry mismatch (server veth $srv_mac, ip neigh $neigh_mac); wtcurl said: $(grep -m1 'next hop' "$kv/explain.txt" || echo nothing)"
fi
cli_mtu=$("$LAB" exec ip -o link show dev "${route_dev:-none}" 2>/dev/null | sed -n 's/.* mtu \([0-9]*\).*/\1/p')
if [ -n "$cli_mtu" ] && grep -qE "interface $route_dev \(index [0-9]+, ether [0-9a-f:]+\): MTU $(commas "$cli_mtu") bytes" "$kv/explain.txt"; then
    pass "kernel view: interface $route_dev MTU $cli_mtu, as 'ip link' shows"
else
    fail "kernel view: MTU of $route_dev ('ip link': $cli_mtu) not shown; wtcurl said: $(grep -m1 'interface ' "$kv/explain.txt" || echo nothing)"
fi
if grep -qF "observed: this host (wtcurl's side) holds TIME_WAIT" "$kv/explain.txt" &&
    grep -q '"type":"kernel_close"' "$kv/trace.json"; then
    pass "kernel view: after close, the kernel showed TIME_WAIT on wtcurl's side (nginx keeps the connection; wtcurl's FIN goes first)"
else
    fail "kernel view: TIME_WAIT not observed on wtcurl's side; wtcurl said: $(grep -A3 'after close()' "$kv/explain.txt" | tr '\n' ' ')"
fi

# --- 6. --packets against tcpdump on the same interface, same run --------------------------------
# tcpdump listens on wtc-cli's veth while wtcurl captures its own packets there (--packets --pcap
# --trace-json). Three comparisons, all in packet order, timestamps aside (two capture sockets):
#   a. both pcaps read back with `tcpdump -n -r`: the same text, line for line;
#   b. wtcurl's own decoded lines (the packet events of --trace-json, which --explain prints) against
#      tcpdump's reading of its own capture: src > dst (the direction), flags, seq/ack, win,
#      options and length; for DNS, src > dst and the UDP length (tcpdump decodes DNS its own way);
#   c. the shape of each TCP connection in tcpdump's capture: the handshake S, S., . from the
#      client, and a FIN from each side; so an empty or wrongly filtered capture cannot pass.
# tcpdump's filter keeps what wtcurl's does (the DNS exchange on port 53 and the connections to
# ports 80 and 443) and explicitly leaves out ARP (not IP) and NDP (icmp6): the kernel sends those
# on its own, they are in the namespace's traffic but not this request's, and wtcurl's filter
# (the DNS exchange and the connection's 4-tuple) does not take them.
# norm_wt FILE / norm_td FILE: one line per packet, "IP a.p > b.q: Flags [..], …, length N" or,
# for UDP, "IP a.p > b.q: length N"; timestamps dropped, payload descriptions after the length cut.
norm_wt() { sed -E 's/^[0-9]+\.[0-9]+ //; s/: UDP, length ([0-9]+).*/: length \1/; s/(Flags .*length [0-9]+).*/\1/' "$1"; }
norm_td() { sed -E 's/^[0-9]+\.[0-9]+ //; s/(Flags .*length [0-9]+).*/\1/; /Flags/! s/: .* \(([0-9]+)\)$/: length \1/' "$1"; }
# tcp_shape FILE: per TCP connection (in order of first packet), its flags in order, each marked
# > (from the side that sent the first packet, the client) or < (from the server).
tcp_shape() {
    awk '/Flags \[/ {
        src = $2; dst = $4; sub(/:$/, "", dst)
        k = (src < dst) ? src " " dst : dst " " src
        if (!(k in first)) { first[k] = src; order[++n] = k }
        f = $0; sub(/.*Flags \[/, "", f); sub(/\].*/, "", f)
        shape[k] = shape[k] ((src == first[k]) ? " >" : " <") f
    }
    END { for (i = 1; i <= n; i++) print substr(shape[order[i]], 2) }' "$1"
}
pk="$OUT/packets-vs-tcpdump"
mkdir -p "$pk"
cli_if=${route_dev:-}
[ -n "$cli_if" ] || cli_if=$("$LAB" exec ip -o link show 2>/dev/null | awk -F': ' '$2 !~ /^lo/ { sub(/@.*/, "", $2); print $2; exit }')
if ! command -v tcpdump >/dev/null 2>&1; then
    if is_ci; then
        fail "--packets vs tcpdump needs 'tcpdump' (CI=true: missing prerequisites are failures)"
    else
        printf "SKIP: --packets vs tcpdump (needs 'tcpdump')\n"
    fi
else
    for spec in "plain|wetransfer.com" "follow|-L wetransfer.com --cacert LAB_CA"; do
        name=${spec%%|*}
        read -r -a wt_args <<<"${spec#*|}"
        for i in "${!wt_args[@]}"; do
            if [ "${wt_args[$i]}" = LAB_CA ]; then wt_args[i]=$LAB_CA; fi
        done
        d="$pk/$name"
        mkdir -p "$d"
        : >"$d/tcpdump.err"
        "$LAB" exec sh -c 'echo $$ >"$1"; shift; exec tcpdump "$@"' sh "$d/tcpdump.pid" \
            -i "$cli_if" -n -U --immediate-mode -s 0 -w "$d/tcpdump.pcap" \
            '(udp port 53 or tcp port 80 or tcp port 443) and not arp and not icmp6' 2>"$d/tcpdump.err" &
        td_job=$!
        # Ready when tcpdump says "listening on" (its socket and filter are in place).
        for _ in $(seq 1 100); do
            grep -q 'listening on' "$d/tcpdump.err" && break
            sleep 0.05
        done
        set +e
        "$LAB" exec "$WTCURL" -s -o /dev/null "${wt_args[@]}" --packets --pcap "$d/wtcurl.pcap" \
            --trace-json "$d/trace.json" >"$d/stdout" 2>"$d/stderr" </dev/null
        pk_rc=$?
        set -e
        sleep 1 # the last ACKs
        kill -INT "$(cat "$d/tcpdump.pid" 2>/dev/null)" 2>/dev/null || true
        wait "$td_job" || true
        # Read both inside the namespace (interface indexes are named by the reader).
        "$LAB" exec tcpdump -n -tt -r "$d/tcpdump.pcap" 2>/dev/null >"$d/tcpdump.txt" || true
        "$LAB" exec tcpdump -n -tt -r "$d/wtcurl.pcap" 2>/dev/null >"$d/wtcurl-pcap.txt" || true
        perl -MJSON::PP -ne '$e = eval { decode_json($_) } or next; print "$e->{line}\n" if ($e->{type} // "") eq "packet"' \
            "$d/trace.json" >"$d/wtcurl-lines.txt" 2>/dev/null || true
        cut -d' ' -f2- "$d/tcpdump.txt" >"$d/a.txt"
        cut -d' ' -f2- "$d/wtcurl-pcap.txt" >"$d/b.txt"
        norm_td "$d/tcpdump.txt" >"$d/td-norm.txt"
        norm_wt "$d/wtcurl-lines.txt" >"$d/wt-norm.txt"
        n_td=$(wc -l <"$d/a.txt")
        n_wt=$(wc -l <"$d/b.txt")
        n_dns=$(grep -c -E '\.53 > |\.53: ' "$d/td-norm.txt" || true)
        n_tcp=$(grep -c 'Flags \[' "$d/td-norm.txt" || true)
        tcp_shape "$d/td-norm.txt" >"$d/shape.txt"
        n_conn=$(wc -l <"$d/shape.txt")
        bad_shape=$(awk '!(/^>S <S\. >\. / && />F/ && /<F/)' "$d/shape.txt" | head -n 1)
        case "$name" in plain) want_conn=1 ;; *) want_conn=2 ;; esac
        if [ "$pk_rc" -ne 0 ]; then
            fail "--packets vs tcpdump ($name): wtcurl exited $pk_rc; stderr: $(tail -n 3 "$d/stderr" | tr '\n' ' ')"
        elif [ "$n_wt" -eq 0 ] || [ "$n_wt" -ne "$n_td" ] || ! cmp -s "$d/a.txt" "$d/b.txt"; then
            fail "--packets vs tcpdump ($name, on $cli_if): wtcurl's pcap $n_wt packets, tcpdump's $n_td; first difference (< tcpdump, > wtcurl):"
            diff "$d/a.txt" "$d/b.txt" | head -n 6 || true
        elif ! cmp -s "$d/td-norm.txt" "$d/wt-norm.txt"; then
            fail "--packets vs tcpdump ($name, on $cli_if): wtcurl's decoded lines differ from tcpdump's ($(wc -l <"$d/wt-norm.txt") vs $n_td); first difference (< tcpdump, > wtcurl):"
            diff "$d/td-norm.txt" "$d/wt-norm.txt" | head -n 6 || true
        elif [ "$n_dns" -lt 2 ] || [ "$n_conn" -ne "$want_conn" ] || [ -n "$bad_shape" ]; then
            fail "--packets vs tcpdump ($name, on $cli_if): $n_dns DNS packets, $n_conn TCP connections (want $want_conn); a connection without S, S., . then a FIN each way: '${bad_shape:-}'"
        else
            pass "--packets vs tcpdump ($name, on $cli_if): the same $n_wt packets ($n_dns DNS, $n_tcp TCP over $n_conn connections) in both pcaps and in wtcurl's own lines: same order, direction, flags, seq/ack, win, options and lengths; handshake and close: $(tr '\n' '|' <"$d/shape.txt" | sed 's/|$//; s/|/ | /g')"
        fi
    done
fi

# The committed evidence for WALKTHROUGH.md (scripts/captures.sh) must check clean too.
check_run "captures/wtcurl-plain" "$ROOT/captures/wtcurl-plain/trace.json" "$ROOT/captures/wtcurl-plain/strace.log"
check_run "captures/wtcurl-follow" "$ROOT/captures/wtcurl-follow/trace.json" "$ROOT/captures/wtcurl-follow/strace.log" "$ROOT/captures/wtcurl-follow/wtcurl.pcap"
check_run "captures/wtcurl-kernel" "$ROOT/captures/wtcurl-kernel/trace.json" "$ROOT/captures/wtcurl-kernel/strace.log"

finish
