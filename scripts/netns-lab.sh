#!/usr/bin/env bash
# A two-namespace lab where "wetransfer.com" exists without any internet:
#
#   wtc-cli (client)                       wtc-srv (server)
#   192.0.2.2/24, 2001:db8::2/64  <-veth->  192.0.2.1/24, 2001:db8::1/64
#   /etc/resolv.conf -> 192.0.2.1           dnsmasq :53  wetransfer.com A 192.0.2.1, AAAA 2001:db8::1
#   /etc/hosts: localhost only              nginx   :80  / -> 301 Location: https://wetransfer.com/
#                                           nginx   :443 TLS 1.2/1.3, / -> 200 the lab page
#
# Neither namespace has a default route or a link to the host, so nothing run inside can reach
# anything but the other namespace. dnsmasq never forwards (--no-resolv, no server=).
#
# TLS: `up` makes a lab CA ($WTC_LAB_DIR/ca.pem, printed by `up` and by `ca`) and a certificate
# for wetransfer.com (SAN DNS:wetransfer.com, DNS:www.wetransfer.com; EKU serverAuth) signed by it,
# with the openssl CLI. Nothing trusts that CA unless told: pass --cacert "$(scripts/netns-lab.sh ca)".
#
# Usage (as root):
#   scripts/netns-lab.sh up            (re)create the lab; idempotent, also after a failed up
#   scripts/netns-lab.sh down          stop the servers, delete the namespaces and /etc/netns/wtc-cli
#   scripts/netns-lab.sh exec CMD...   run CMD inside wtc-cli (proxy variables removed)
#   scripts/netns-lab.sh srv-exec CMD... run CMD inside wtc-srv
#   scripts/netns-lab.sh status        show what exists
#   scripts/netns-lab.sh ca            print the path of the lab CA certificate (after up)
#
# State (configs, keys, certificates, pid files, logs) lives in $WTC_LAB_DIR (default /tmp/wtc-lab).
set -euo pipefail

SRV_NS=wtc-srv
CLI_NS=wtc-cli
SRV_IF=wtc-s
CLI_IF=wtc-c
SRV4=192.0.2.1
CLI4=192.0.2.2
SRV6=2001:db8::1
CLI6=2001:db8::2
LAB_NAME=wetransfer.com
LAB_DIR=${WTC_LAB_DIR:-/tmp/wtc-lab}
CLI_ETC=/etc/netns/$CLI_NS
LAB_CA=$LAB_DIR/ca.pem
LAB_TLS_DIR=$LAB_DIR/tls
LAB_PAGE='<html><body>wetransfer lab page</body></html>'
case "$LAB_DIR" in
/tmp/?* | /run/?* | /var/tmp/?*) ;;
*)
    printf 'netns-lab: ERROR: WTC_LAB_DIR must be under /tmp, /run or /var/tmp (it is removed on down): %s\n' "$LAB_DIR" >&2
    exit 1
    ;;
esac
PROXY_VARS=(http_proxy HTTP_PROXY https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY)

log() { printf 'netns-lab: %s\n' "$*" >&2; }
die() {
    printf 'netns-lab: ERROR: %s\n' "$*" >&2
    exit 1
}

find_tool() {
    local t=$1 d
    if command -v "$t" >/dev/null 2>&1; then
        command -v "$t"
        return 0
    fi
    for d in /usr/local/sbin /usr/sbin /sbin; do
        if [ -x "$d/$t" ]; then
            printf '%s\n' "$d/$t"
            return 0
        fi
    done
    return 1
}

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)"
}

ns_exists() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$1"
}

# Kill the process whose pid is in file $1 if it is still the program named $2.
kill_pidfile() {
    local file=$1 name=$2 pid comm
    [ -f "$file" ] || return 0
    pid=$(tr -dc '0-9' <"$file")
    [ -n "$pid" ] || return 0
    comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
    if [ "$comm" = "$name" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid"
    fi
}

# Gone = no such process, or a zombie (our parent may be a PID 1 that reaps slowly).
is_gone() {
    kill -0 "$1" 2>/dev/null || return 0
    grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

wait_gone() {
    local pid=$1
    for _ in $(seq 1 100); do
        is_gone "$pid" && return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# Processes still inside one of our namespaces were started by this lab: end them by pid.
kill_ns_pids() {
    local ns=$1 pid
    ns_exists "$ns" || return 0
    for pid in $(ip netns pids "$ns" 2>/dev/null); do
        kill -TERM "$pid" 2>/dev/null || true
        wait_gone "$pid"
    done
}

cmd_down() {
    need_root
    kill_pidfile "$LAB_DIR/nginx.pid" nginx
    kill_pidfile "$LAB_DIR/dnsmasq.pid" dnsmasq
    kill_ns_pids "$SRV_NS"
    kill_ns_pids "$CLI_NS"
    local ns
    for ns in "$SRV_NS" "$CLI_NS"; do
        if ns_exists "$ns"; then
            ip netns del "$ns"
        fi
    done
    rm -rf "$CLI_ETC"
    rmdir /etc/netns 2>/dev/null || true
    rm -rf "$LAB_DIR"
    log "down"
}

# The lab's PKI, made fresh on every `up` with the openssl CLI: a CA (EC P-256, CA:TRUE,
# keyCertSign) and a leaf for wetransfer.com (EC P-256, SAN DNS:wetransfer.com and
# DNS:www.wetransfer.com, EKU serverAuth, CA:FALSE) signed by it. Valid from now for 30 days.
make_pki() {
    local openssl_bin=$1 d=$LAB_TLS_DIR
    mkdir -p "$d"
    chmod 700 "$d"
    "$openssl_bin" req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/ca.key" -out "$LAB_CA" -days 30 \
        -subj "/O=wtcurl netns lab/CN=wtcurl netns lab CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" >"$d/openssl.log" 2>&1 ||
        { cat "$d/openssl.log" >&2; die "openssl could not make the lab CA"; }
    cat >"$d/leaf.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:$LAB_NAME,DNS:www.$LAB_NAME
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EOF
    "$openssl_bin" req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$d/$LAB_NAME.key" -out "$d/$LAB_NAME.csr" -subj "/CN=$LAB_NAME" \
        >>"$d/openssl.log" 2>&1 ||
        { cat "$d/openssl.log" >&2; die "openssl could not make the $LAB_NAME key"; }
    "$openssl_bin" x509 -req -in "$d/$LAB_NAME.csr" -CA "$LAB_CA" -CAkey "$d/ca.key" \
        -set_serial "0x$("$openssl_bin" rand -hex 8)" -days 30 -extfile "$d/leaf.ext" \
        -out "$d/$LAB_NAME.pem" >>"$d/openssl.log" 2>&1 ||
        { cat "$d/openssl.log" >&2; die "openssl could not sign the $LAB_NAME certificate"; }
    "$openssl_bin" verify -CAfile "$LAB_CA" -purpose sslserver -verify_hostname "$LAB_NAME" \
        "$d/$LAB_NAME.pem" >>"$d/openssl.log" 2>&1 ||
        { cat "$d/openssl.log" >&2; die "the $LAB_NAME certificate does not verify against the lab CA"; }
    chmod 644 "$LAB_CA"
}

write_configs() {
    mkdir -p "$LAB_DIR/www" "$LAB_DIR/tmp"
    chmod 755 "$LAB_DIR" "$LAB_DIR/www"
    printf 'Hello from the wtcurl netns lab!\n' >"$LAB_DIR/www/hello.txt"
    printf '%s\n' "$LAB_PAGE" >"$LAB_DIR/www/index.html"

    cat >"$LAB_DIR/nginx.conf" <<EOF
# netns lab: wetransfer.com's ports 80 and 443. Single process (master_process off), all paths in $LAB_DIR.
daemon on;
master_process off;
worker_processes 1;
pid $LAB_DIR/nginx.pid;
lock_file $LAB_DIR/nginx.lock;
error_log $LAB_DIR/nginx-error.log info;
events { worker_connections 256; }
http {
    access_log $LAB_DIR/nginx-access.log;
    client_body_temp_path $LAB_DIR/tmp/client_body;
    proxy_temp_path $LAB_DIR/tmp/proxy;
    fastcgi_temp_path $LAB_DIR/tmp/fastcgi;
    uwsgi_temp_path $LAB_DIR/tmp/uwsgi;
    scgi_temp_path $LAB_DIR/tmp/scgi;
    types { text/html html; text/plain txt; }
    default_type application/octet-stream;
    server_tokens off;
    absolute_redirect off;
    server {
        listen 80 default_server;
        listen [::]:80 default_server ipv6only=on;
        server_name $LAB_NAME www.$LAB_NAME;
        root $LAB_DIR/www;
        location = / { return 301 https://$LAB_NAME/; }
        location = /hello.txt { }
        location / { return 404; }
    }
    server {
        listen 443 ssl default_server;
        listen [::]:443 ssl default_server ipv6only=on;
        server_name $LAB_NAME www.$LAB_NAME;
        ssl_certificate $LAB_TLS_DIR/$LAB_NAME.pem;
        ssl_certificate_key $LAB_TLS_DIR/$LAB_NAME.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $LAB_DIR/www;
        location = / { try_files /index.html =404; }
        location = /hello.txt { }
        location / { return 404; }
    }
}
EOF

    mkdir -p "$CLI_ETC"
    printf 'nameserver %s\n' "$SRV4" >"$CLI_ETC/resolv.conf"
    cat >"$CLI_ETC/hosts" <<'EOF'
127.0.0.1	localhost
::1	localhost ip6-localhost ip6-loopback
EOF
    # Only files and DNS: no systemd-resolved / mdns / myhostname module that could reach a
    # resolver outside the namespace through a Unix socket.
    cat >"$CLI_ETC/nsswitch.conf" <<'EOF'
passwd:         files
group:          files
shadow:         files
hosts:          files dns
networks:       files
protocols:      files
services:       files
EOF
}

cmd_up() {
    need_root
    local ip_bin nginx_bin dnsmasq_bin openssl_bin
    ip_bin=$(find_tool ip) || die "ip not found (apt-get install -y iproute2)"
    nginx_bin=$(find_tool nginx) || die "nginx not found (apt-get install -y nginx-light)"
    dnsmasq_bin=$(find_tool dnsmasq) || die "dnsmasq not found (apt-get install -y dnsmasq-base)"
    openssl_bin=$(find_tool openssl) || die "openssl not found (apt-get install -y openssl)"
    "$nginx_bin" -V 2>&1 | grep -q -- '--with-http_ssl_module' ||
        die "$nginx_bin has no ssl module (nginx -V lacks --with-http_ssl_module)"
    : "$ip_bin"
    if pgrep -x nscd >/dev/null 2>&1; then
        die "nscd is running: glibc in the namespace would resolve through it, outside the lab"
    fi

    cmd_down 2>/dev/null || true

    log "creating namespaces $SRV_NS and $CLI_NS"
    ip netns add "$SRV_NS"
    ip netns add "$CLI_NS"
    ip -n "$SRV_NS" link set lo up
    ip -n "$CLI_NS" link set lo up
    # Create the pair directly inside the namespaces: the host never sees either end.
    ip -n "$SRV_NS" link add "$SRV_IF" type veth peer name "$CLI_IF" netns "$CLI_NS"
    ip netns exec "$SRV_NS" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
    ip netns exec "$CLI_NS" sh -c 'echo 0 > /proc/sys/net/ipv6/conf/all/disable_ipv6'
    ip -n "$SRV_NS" addr add "$SRV4/24" dev "$SRV_IF"
    ip -n "$SRV_NS" addr add "$SRV6/64" dev "$SRV_IF" nodad
    ip -n "$CLI_NS" addr add "$CLI4/24" dev "$CLI_IF"
    ip -n "$CLI_NS" addr add "$CLI6/64" dev "$CLI_IF" nodad
    ip -n "$SRV_NS" link set "$SRV_IF" up
    ip -n "$CLI_NS" link set "$CLI_IF" up

    write_configs
    log "making the lab CA and a certificate for $LAB_NAME (openssl)"
    make_pki "$openssl_bin"

    log "starting dnsmasq in $SRV_NS ($LAB_NAME -> $SRV4, $SRV6)"
    ip netns exec "$SRV_NS" "$dnsmasq_bin" \
        --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll \
        --listen-address="$SRV4" --listen-address="$SRV6" --bind-interfaces --port=53 \
        --user=root \
        --pid-file="$LAB_DIR/dnsmasq.pid" \
        --log-queries --log-facility="$LAB_DIR/dnsmasq.log" \
        --local-ttl=300 \
        --local=/#/ \
        --host-record="$LAB_NAME,www.$LAB_NAME,$SRV4,$SRV6" ||
        die "dnsmasq failed to start"

    log "starting nginx in $SRV_NS (ports 80 and 443 with TLS, IPv4 and IPv6)"
    if ! ip netns exec "$SRV_NS" "$nginx_bin" -t -q -p "$LAB_DIR" -c "$LAB_DIR/nginx.conf" \
        -e "$LAB_DIR/nginx-error.log"; then
        die "nginx config test failed: $LAB_DIR/nginx.conf"
    fi
    ip netns exec "$SRV_NS" "$nginx_bin" -p "$LAB_DIR" -c "$LAB_DIR/nginx.conf" \
        -e "$LAB_DIR/nginx-error.log" || die "nginx failed to start (see $LAB_DIR/nginx-error.log)"

    # Bounded readiness: the client can resolve the name through the lab DNS and reach ports 80
    # and 443 on both addresses.
    local ok=""
    for _ in $(seq 1 50); do
        if ip netns exec "$CLI_NS" getent ahostsv4 "$LAB_NAME" 2>/dev/null | grep -q "^$SRV4 " &&
            ip netns exec "$CLI_NS" timeout 2 bash -c "exec 3<>/dev/tcp/$SRV4/80" 2>/dev/null &&
            ip netns exec "$CLI_NS" timeout 2 bash -c "exec 3<>/dev/tcp/$SRV4/443" 2>/dev/null &&
            ip netns exec "$CLI_NS" timeout 2 bash -c "exec 3<>/dev/tcp/$SRV6/443" 2>/dev/null; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ -n "$ok" ] || die "lab did not become ready in 5 s (see $LAB_DIR/*.log)"
    log "up: $LAB_NAME is $SRV4 / $SRV6 inside $CLI_NS; logs in $LAB_DIR"
    log "lab CA: $LAB_CA (trust it with --cacert $LAB_CA)"
}

cmd_ca() {
    [ -f "$LAB_CA" ] || die "no lab CA at $LAB_CA (run: $0 up)"
    printf '%s\n' "$LAB_CA"
}

cmd_exec() {
    need_root
    [ "$#" -gt 0 ] || die "usage: $0 exec CMD [ARGS...]"
    ns_exists "$CLI_NS" || die "lab is not up (run: $0 up)"
    local unset_args=() v
    for v in "${PROXY_VARS[@]}"; do unset_args+=(-u "$v"); done
    exec ip netns exec "$CLI_NS" env "${unset_args[@]}" "$@"
}

cmd_srv_exec() {
    need_root
    [ "$#" -gt 0 ] || die "usage: $0 srv-exec CMD [ARGS...]"
    ns_exists "$SRV_NS" || die "lab is not up (run: $0 up)"
    exec ip netns exec "$SRV_NS" "$@"
}

cmd_status() {
    local ns
    for ns in "$SRV_NS" "$CLI_NS"; do
        if ns_exists "$ns"; then
            printf '%s:\n' "$ns"
            ip -n "$ns" -br addr
            printf '  pids: %s\n' "$(ip netns pids "$ns" | tr '\n' ' ')"
        else
            printf '%s: absent\n' "$ns"
        fi
    done
    [ -d "$CLI_ETC" ] && printf '%s: %s\n' "$CLI_ETC" "$(cd "$CLI_ETC" && echo *)"
    [ -d "$LAB_DIR" ] && printf 'state: %s\n' "$LAB_DIR"
    return 0
}

main() {
    local sub=${1:-}
    [ "$#" -gt 0 ] && shift
    case "$sub" in
    up) cmd_up ;;
    down) cmd_down ;;
    exec) cmd_exec "$@" ;;
    srv-exec) cmd_srv_exec "$@" ;;
    status) cmd_status ;;
    ca) cmd_ca ;;
    *)
        sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 2
        ;;
    esac
}

main "$@"
