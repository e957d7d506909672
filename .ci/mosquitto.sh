#!/usr/bin/env bash
# .ci/mosquitto.sh — a throw-away Mosquitto broker for the integration tests.
#
# Usage (execute it; do not source it):
#
#   bash .ci/mosquitto.sh start     # install (if needed), make certs + config, start, wait
#   bash .ci/mosquitto.sh stop      # stop the broker started by `start`
#   bash .ci/mosquitto.sh status    # exit 0 if the broker is running
#   source "$STATE/env"             # then the MQTT_TEST_* variables below are exported
#
# `start` prints the path of the env file as its last line of stdout.
#
# State directory: $MQTT_CI_STATE_DIR, default <repo>/.ci/run-state/ (gitignored).
# Everything lives there: certificates and keys, mosquitto.conf, passwd, the log
# (mosquitto.log), the pid file (mosquitto.pid) and the env file (env).
#
# Other knobs (environment):
#   MQTT_CI_PORT_BASE      first port to try (default 18830). Six consecutive ports
#                          BASE..BASE+5 are used; if any is taken, BASE+10, BASE+20, ...
#                          are tried (up to 10 blocks).
#   MQTT_CI_START_TIMEOUT  seconds to wait for all listeners (default 10).
#   MQTT_CI_NO_INSTALL=1   never call apt-get.
#
# Listeners (all bound to 127.0.0.1 only; per_listener_settings true):
#   BASE+0  plain MQTT/TCP, anonymous allowed                  MQTT_TEST_TCP
#   BASE+1  MQTT over TLS (server cert only)                   MQTT_TEST_TLS
#   BASE+2  MQTT over mutual TLS (client cert required,        MQTT_TEST_MTLS
#           signed by the test CA; CN becomes the username)
#   BASE+3  MQTT over WebSocket  ws://127.0.0.1:PORT/mqtt      MQTT_TEST_WS
#   BASE+4  MQTT over secure WebSocket wss://...:PORT/mqtt     MQTT_TEST_WSS
#   BASE+5  plain MQTT/TCP, username/password required         MQTT_TEST_AUTH
#           (MQTT_TEST_USER=testuser / MQTT_TEST_PASS=testpass)
#
# Exported by $STATE/env:
#   MQTT_TEST_TCP, MQTT_TEST_TLS, MQTT_TEST_MTLS, MQTT_TEST_AUTH   host:port (127.0.0.1:PORT)
#   MQTT_TEST_WS, MQTT_TEST_WSS                                     URLs
#   MQTT_TEST_USER, MQTT_TEST_PASS
#   MQTT_TEST_TLS_SERVER_NAME=localhost   (the server cert has SAN DNS:localhost and IP:127.0.0.1)
#   MQTT_TEST_CA                 PEM, the CA that signed the server and client certs
#   MQTT_TEST_WRONG_CA           PEM, an unrelated CA (server verification must fail with it)
#   MQTT_TEST_CLIENT_CERT        PEM, client cert signed by MQTT_TEST_CA (for MQTT_TEST_MTLS)
#   MQTT_TEST_CLIENT_KEY         PEM, its key, PKCS#8 ("BEGIN PRIVATE KEY"), EC P-256
#   MQTT_TEST_WRONG_CLIENT_CERT / MQTT_TEST_WRONG_CLIENT_KEY
#                                a client cert signed by the WRONG CA (MQTT_TEST_MTLS must reject it)
#   MQTT_TEST_MOSQUITTO_PID      pid at start time (a test that restarts the broker changes it;
#                                the current one is always in MQTT_TEST_MOSQUITTO_PIDFILE)
#   MQTT_TEST_MOSQUITTO_PIDFILE, MQTT_TEST_MOSQUITTO_CONF, MQTT_TEST_MOSQUITTO_LOG,
#   MQTT_TEST_MOSQUITTO_BIN      to restart the broker from a test:
#                                  kill "$(cat "$MQTT_TEST_MOSQUITTO_PIDFILE")"
#                                  "$MQTT_TEST_MOSQUITTO_BIN" -c "$MQTT_TEST_MOSQUITTO_CONF" -d
#                                (the config has `pid_file`, so the pid file follows restarts)
#   MQTT_TEST_STATE_DIR
#
# The broker runs as the invoking user (`user <whoami>` in the config), so it can
# read the keys in the state dir even when started as root; persistence is off.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/.." && pwd)"
STATE="${MQTT_CI_STATE_DIR:-$REPO/.ci/run-state}"
PORT_BASE="${MQTT_CI_PORT_BASE:-18830}"
START_TIMEOUT="${MQTT_CI_START_TIMEOUT:-10}"
NPORTS=6
CERT_DAYS=30

log() { printf '[mosquitto.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

find_mosquitto() {
    local c
    for c in "$(command -v mosquitto 2>/dev/null || true)" /usr/sbin/mosquitto /usr/local/sbin/mosquitto; do
        if [[ -n "$c" && -x "$c" ]]; then printf '%s\n' "$c"; return 0; fi
    done
    return 1
}

find_passwd_tool() {
    local c
    for c in "$(command -v mosquitto_passwd 2>/dev/null || true)" /usr/bin/mosquitto_passwd /usr/local/bin/mosquitto_passwd; do
        if [[ -n "$c" && -x "$c" ]]; then printf '%s\n' "$c"; return 0; fi
    done
    return 1
}

ensure_installed() {
    local missing=()
    if ! find_mosquitto >/dev/null || ! find_passwd_tool >/dev/null; then
        missing+=(mosquitto)
    fi
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if ((${#missing[@]} == 0)); then
        return 0
    fi
    [[ "${MQTT_CI_NO_INSTALL:-}" == 1 ]] && die "missing ${missing[*]} and MQTT_CI_NO_INSTALL=1"
    local sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            die "missing ${missing[*]}; not root and no passwordless sudo: install mosquitto and openssl"
        fi
    fi
    log "installing mosquitto openssl from Debian (missing: ${missing[*]})"
    local t0=$SECONDS
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 \
        || die "apt-get update failed"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        mosquitto openssl </dev/null >&2 || die "apt-get install failed"
    log "installed in $((SECONDS - t0)) s"
    find_mosquitto >/dev/null || die "mosquitto still not found after install"
    find_passwd_tool >/dev/null || die "mosquitto_passwd still not found after install"
    # The Debian package may have started the system broker (port 1883); we don't use it.
}

# Is something listening on 127.0.0.1:$1 (or bound to it on any address)?
port_busy() {
    local p=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Htln "sport = :$p" 2>/dev/null)" ]] && return 0
        return 1
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
}

port_accepts() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pick_ports() {
    local try base i busy
    for ((try = 0; try < 10; try++)); do
        base=$((PORT_BASE + 10 * try))
        busy=
        for ((i = 0; i < NPORTS; i++)); do
            if port_busy $((base + i)); then busy=$((base + i)); break; fi
        done
        if [[ -z "$busy" ]]; then
            printf '%s\n' "$base"
            return 0
        fi
        log "port $busy is in use; trying the next block"
    done
    die "no block of $NPORTS free ports found from $PORT_BASE"
}

# pid of the running broker from our pid file, if it is alive and is mosquitto
running_pid() {
    local pidfile="$STATE/mosquitto.pid" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(tr -dc '0-9' <"$pidfile")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ -r "/proc/$pid/comm" ]]; then
        [[ "$(cat "/proc/$pid/comm")" == mosquitto* ]] || return 1
    fi
    printf '%s\n' "$pid"
}

do_stop() {
    local pid i
    if ! pid="$(running_pid)"; then
        log "no running broker (state dir $STATE)"
        rm -f "$STATE/mosquitto.pid"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "broker $pid did not stop on TERM; sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$STATE/mosquitto.pid"
    log "stopped broker $pid"
}

gen_key() { # PKCS#8 PEM, EC P-256
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

gen_ca() { # name cn
    local name=$1 cn=$2
    gen_key "$STATE/$name.key"
    openssl req -x509 -new -sha256 -days "$CERT_DAYS" -key "$STATE/$name.key" \
        -subj "/O=mqtt CI/CN=$cn" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -addext "subjectKeyIdentifier=hash" \
        -out "$STATE/$name.pem"
}

gen_leaf() { # name ca cn extensions...
    local name=$1 ca=$2 cn=$3 ext="$STATE/$1.ext"
    shift 3
    gen_key "$STATE/$name.key"
    openssl req -new -sha256 -key "$STATE/$name.key" -subj "/O=mqtt CI/CN=$cn" -out "$STATE/$name.csr"
    {
        echo "basicConstraints=critical,CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "subjectKeyIdentifier=hash"
        echo "authorityKeyIdentifier=keyid"
        printf '%s\n' "$@"
    } >"$ext"
    openssl x509 -req -sha256 -days "$CERT_DAYS" -in "$STATE/$name.csr" \
        -CA "$STATE/$ca.pem" -CAkey "$STATE/$ca.key" -set_serial "0x$(openssl rand -hex 12)" \
        -extfile "$ext" -out "$STATE/$name.pem" 2>/dev/null
    rm -f "$STATE/$name.csr" "$ext"
}

gen_certs() {
    gen_ca ca "mqtt CI test CA"
    gen_ca wrong-ca "mqtt CI unrelated CA"
    gen_leaf server ca localhost \
        "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth"
    gen_leaf client ca mqtt-ci-client "extendedKeyUsage=clientAuth"
    gen_leaf wrong-client wrong-ca mqtt-ci-wrong-client "extendedKeyUsage=clientAuth"
    chmod 600 "$STATE"/*.key
    openssl verify -CAfile "$STATE/ca.pem" "$STATE/server.pem" "$STATE/client.pem" >/dev/null \
        || die "generated certificates do not verify"
}

write_config() {
    local base=$1 user
    user="$(id -un)"
    local tls_opts="certfile $STATE/server.pem
keyfile $STATE/server.key"
    cat >"$STATE/mosquitto.conf" <<EOF
# Generated by .ci/mosquitto.sh — do not edit; regenerated on every start.
per_listener_settings true
persistence false
# Tests publish bursts of 10,000 messages; mosquitto would drop QoS 1/2 messages queued for a
# subscriber beyond its default of 1,000. The in-flight window stays at its default of 20.
max_queued_messages 0
user $user
pid_file $STATE/mosquitto.pid
log_dest file $STATE/mosquitto.log
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S

# plain TCP, anonymous
listener $((base + 0)) 127.0.0.1
allow_anonymous true

# TLS, server authentication only
listener $((base + 1)) 127.0.0.1
allow_anonymous true
$tls_opts

# mutual TLS: client certificate signed by the test CA required
listener $((base + 2)) 127.0.0.1
allow_anonymous true
$tls_opts
cafile $STATE/ca.pem
require_certificate true
use_identity_as_username true

# WebSocket
listener $((base + 3)) 127.0.0.1
protocol websockets
allow_anonymous true

# secure WebSocket
listener $((base + 4)) 127.0.0.1
protocol websockets
allow_anonymous true
$tls_opts

# plain TCP, username/password required
listener $((base + 5)) 127.0.0.1
allow_anonymous false
password_file $STATE/passwd
EOF
}

write_env() {
    local base=$1 pid=$2 bin=$3 env="$STATE/env"
    {
        echo "# Generated by .ci/mosquitto.sh start; source this file."
        local kv
        for kv in \
            "MQTT_TEST_TCP=127.0.0.1:$((base + 0))" \
            "MQTT_TEST_TLS=127.0.0.1:$((base + 1))" \
            "MQTT_TEST_MTLS=127.0.0.1:$((base + 2))" \
            "MQTT_TEST_WS=ws://127.0.0.1:$((base + 3))/mqtt" \
            "MQTT_TEST_WSS=wss://127.0.0.1:$((base + 4))/mqtt" \
            "MQTT_TEST_AUTH=127.0.0.1:$((base + 5))" \
            "MQTT_TEST_USER=testuser" \
            "MQTT_TEST_PASS=testpass" \
            "MQTT_TEST_TLS_SERVER_NAME=localhost" \
            "MQTT_TEST_CA=$STATE/ca.pem" \
            "MQTT_TEST_WRONG_CA=$STATE/wrong-ca.pem" \
            "MQTT_TEST_CLIENT_CERT=$STATE/client.pem" \
            "MQTT_TEST_CLIENT_KEY=$STATE/client.key" \
            "MQTT_TEST_WRONG_CLIENT_CERT=$STATE/wrong-client.pem" \
            "MQTT_TEST_WRONG_CLIENT_KEY=$STATE/wrong-client.key" \
            "MQTT_TEST_MOSQUITTO_PID=$pid" \
            "MQTT_TEST_MOSQUITTO_PIDFILE=$STATE/mosquitto.pid" \
            "MQTT_TEST_MOSQUITTO_CONF=$STATE/mosquitto.conf" \
            "MQTT_TEST_MOSQUITTO_LOG=$STATE/mosquitto.log" \
            "MQTT_TEST_MOSQUITTO_BIN=$bin" \
            "MQTT_TEST_STATE_DIR=$STATE"; do
            printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
        done
    } >"$env.tmp"
    mv "$env.tmp" "$env"
}

do_start() {
    ensure_installed
    local bin passwd_tool base pid i p all_up
    bin="$(find_mosquitto)"
    passwd_tool="$(find_passwd_tool)"
    mkdir -p "$STATE"
    STATE="$(cd "$STATE" && pwd)"

    # A broker left over from an earlier run with this state dir: stop it first.
    if running_pid >/dev/null; then
        log "stopping a broker left over from an earlier run"
        do_stop
    fi
    rm -f "$STATE/env" "$STATE/mosquitto.log" "$STATE/mosquitto.pid" "$STATE/mosquitto.out"

    gen_certs
    rm -f "$STATE/passwd"
    "$passwd_tool" -b -c "$STATE/passwd" testuser testpass >/dev/null
    chmod 600 "$STATE/passwd"

    base="$(pick_ports)"
    write_config "$base"

    log "$("$bin" -h 2>/dev/null | head -n1 || true)"
    if ! "$bin" -c "$STATE/mosquitto.conf" -d >"$STATE/mosquitto.out" 2>&1 </dev/null; then
        cat "$STATE/mosquitto.out" >&2 || true
        [[ -f "$STATE/mosquitto.log" ]] && cat "$STATE/mosquitto.log" >&2
        die "mosquitto failed to start"
    fi

    # wait for the pid file and for every listener to accept connections
    all_up=
    for ((i = 0; i < START_TIMEOUT * 10; i++)); do
        if pid="$(running_pid)"; then
            all_up=1
            for ((p = base; p < base + NPORTS; p++)); do
                port_accepts "$p" || { all_up=; break; }
            done
            [[ -n "$all_up" ]] && break
        fi
        sleep 0.1
    done
    if [[ -z "$all_up" ]]; then
        log "mosquitto did not come up within ${START_TIMEOUT}s; output and log follow"
        cat "$STATE/mosquitto.out" >&2 2>/dev/null || true
        cat "$STATE/mosquitto.log" >&2 2>/dev/null || true
        do_stop || true
        exit 1
    fi

    write_env "$base" "$pid" "$bin"
    log "broker pid $pid on 127.0.0.1 ports $base-$((base + NPORTS - 1)); env file $STATE/env"
    printf '%s\n' "$STATE/env"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
status)
    if pid="$(running_pid)"; then echo "running: pid $pid"; else echo "not running"; exit 1; fi
    ;;
*)
    echo "usage: $0 start|stop|status   (state dir: \$MQTT_CI_STATE_DIR, default .ci/run-state)" >&2
    exit 2
    ;;
esac
