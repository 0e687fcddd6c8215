#!/usr/bin/env bash
# kafkactl.sh - run a local single-node Apache Kafka 4.x broker (KRaft, combined
# broker + controller) from jars fetched from Maven Central.  No Docker needed.
#
#   deploy/kafka/kafkactl.sh install   fetch the jars (needs java 17+ and mvn; apt-get if missing)
#   deploy/kafka/kafkactl.sh up        install, format storage once, start, wait, create topics
#   deploy/kafka/kafkactl.sh down      stop (SIGTERM, up to 30 s, then SIGKILL)
#   deploy/kafka/kafkactl.sh status    exit 0 if running and answering, else 1
#   deploy/kafka/kafkactl.sh reset     down + delete the data directory
#   deploy/kafka/kafkactl.sh topics    list topics with their partition counts
#
# Environment:
#   KAFKA_PORT             PLAINTEXT listener on 127.0.0.1      (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener            (default 9093)
#   KAFKA_PARTITIONS       partitions of the DossierWatch topics (default 6)
#   DOSSIERWATCH_CACHE     cache root (default <repo>/.cache); the broker lives in
#                          $DOSSIERWATCH_CACHE/kafka/{lib,data,logs,run}
#   KAFKA_HEAP_OPTS        broker heap (default "-Xms128m -Xmx512m")
#   KAFKA_UP_TIMEOUT       seconds `up` waits for the broker (default 60)
#   KAFKA_EXTRA_PROPERTIES a file of server properties (same @PLACEHOLDERS@ as the
#                          template) added to the rendered config; a key it sets
#                          replaces the template's, e.g. a SASL_PLAINTEXT listener.
#                          The PLAINTEXT listener must stay: kafkactl talks to it.
#   KAFKA_SCRAM_CREDENTIALS SCRAM users created when the storage is first formatted,
#                          one per line: SCRAM-SHA-512=[name=alice,password=secret]
#
# The broker keeps Kafka's default message.max.bytes (1048588 bytes, ~1 MiB):
# larger events must be dealt with on the producer side.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"

CACHE_ROOT="${DOSSIERWATCH_CACHE:-$REPO_ROOT/.cache}"
mkdir -p "$CACHE_ROOT"
CACHE_ROOT="$(cd "$CACHE_ROOT" && pwd)"
KAFKA_HOME="$CACHE_ROOT/kafka"
LIB_DIR="$KAFKA_HOME/lib"
DATA_DIR="$KAFKA_HOME/data"
LOG_DIR="$KAFKA_HOME/logs"
RUN_DIR="$KAFKA_HOME/run"
PID_FILE="$RUN_DIR/kafka.pid"
CONFIG_FILE="$RUN_DIR/server.properties"
STAMP_FILE="$LIB_DIR/.kafkactl-stamp"

POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"
TEMPLATE="$SCRIPT_DIR/server.properties.template"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_PARTITIONS="${KAFKA_PARTITIONS:-6}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
KAFKA_UP_TIMEOUT="${KAFKA_UP_TIMEOUT:-60}"
STOP_TIMEOUT=30

TOPICS=(dossier-events dossier-alerts dossier-events-dlq dossier-ticks)

JAVA="java"

log() { printf 'kafkactl: %s\n' "$*"; }
die() { printf 'kafkactl: ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- toolchain --

java_major() {
  # Prints the major version of the given java binary (8 for 1.8), or nothing.
  "$1" -XshowSettings:properties -version 2>&1 \
    | awk -F'= ' '/java.specification.version/ {v=$2; sub(/^1\./, "", v); print v; exit}'
}

apt_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    sudo=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
  log "apt-get install $*"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pick_java() {
  # Use $JAVA_HOME/bin/java, else java on PATH, else a Debian JDK 17+.
  local cand v
  for cand in ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null || true)" \
              /usr/lib/jvm/java-*-openjdk-*/bin/java; do
    if [ -z "$cand" ] || [ ! -x "$cand" ]; then continue; fi
    v="$(java_major "$cand")"
    if [ -n "$v" ] && [ "$v" -ge 17 ]; then JAVA="$cand"; return 0; fi
  done
  return 1
}

ensure_java() {
  pick_java && return 0
  apt_install openjdk-17-jdk-headless
  pick_java || die "no Java 17+ found even after installing openjdk-17-jdk-headless"
}

ensure_mvn() {
  command -v mvn >/dev/null 2>&1 && return 0
  apt_install maven
  command -v mvn >/dev/null 2>&1 || die "mvn not found even after installing maven"
}

# ------------------------------------------------------------------ install --

pom_checksum() { sha256sum "$POM" | awk '{print $1}'; }

jars_present() {
  [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$(pom_checksum)" ] \
    && compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_install() {
  ensure_java
  if jars_present; then
    log "install: jars up to date in $LIB_DIR (java: $JAVA)"
    return 0
  fi
  ensure_mvn
  local tmp="$KAFKA_HOME/lib.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$KAFKA_HOME"
  log "install: fetching Kafka jars with Maven into $LIB_DIR"
  local mvn_log="$KAFKA_HOME/install.log"
  if ! mvn -q -B -f "$POM" dependency:copy-dependencies "-Dkafka.lib.dir=$tmp" >"$mvn_log" 2>&1; then
    tail -n 40 "$mvn_log" >&2
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed (is Maven Central reachable?), see $mvn_log"
  fi
  compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "no kafka_2.13 jar was fetched"; }
  # Swap in the complete directory so a failed fetch never leaves mixed versions.
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  pom_checksum >"$STAMP_FILE"
  log "install: $(find "$LIB_DIR" -name '*.jar' | wc -l) jars, $(basename "$(compgen -G "$LIB_DIR/kafka_2.13-*.jar" | head -n1)")"
}

# ------------------------------------------------------------------ helpers --

# JVM options for the short-lived admin tools: small heap, fast start-up.
TOOL_OPTS=(-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.awt.headless=true)

run_tool() {
  # run_tool <main class> <args...>: an admin tool from the jars; logs (WARN+)
  # go to $LOG_DIR/tools.log, the tool's own output to stdout/stderr.
  local main="$1"; shift
  mkdir -p "$LOG_DIR"
  "$JAVA" "${TOOL_OPTS[@]}" \
    "-Dlog4j2.configurationFile=$LOG4J_CONFIG" "-Dkafka.logs.dir=$LOG_DIR" \
    -Dkafka.log.file=tools.log -Dkafka.log.level=WARN \
    -cp "$LIB_DIR/*" "$main" "$@"
}

running_port() {
  # The client port of the running broker (from its rendered config), else $KAFKA_PORT.
  local p=""
  [ -f "$CONFIG_FILE" ] && p="$(sed -n 's#^advertised\.listeners=PLAINTEXT://[^:]*:\([0-9]*\).*#\1#p' "$CONFIG_FILE")"
  echo "${p:-$KAFKA_PORT}"
}

bootstrap() { echo "127.0.0.1:$(running_port)"; }

broker_pid() {
  # Prints the broker's pid if the pid file names a live kafka.Kafka process.
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

port_open() {
  # port_open <port>: true if something accepts TCP connections on 127.0.0.1:<port>.
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

kafka_answers() {
  # kafka_answers <port>: send a Kafka ApiVersions v0 request over /dev/tcp and
  # check the reply (correlation id echoed, error_code 0).  Needs no JVM and no
  # Python; the broker only serves requests once it has joined the quorum.
  local reply
  reply="$(timeout 3 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/'"$1"' || exit 1
    # size=18 | api_key=18 (ApiVersions) | version=0 | correlation=0x44575701 | client_id="kafkactl"
    printf "\x00\x00\x00\x12\x00\x12\x00\x00\x44\x57\x57\x01\x00\x08kafkactl" >&3
    head -c 10 <&3 | od -An -tx1
  ' 2>/dev/null | tr -d ' \n')" || return 1
  # 4 bytes size, then correlation id 44575701, then error_code 0000.
  [ "${reply:8:12}" = "445757010000" ]
}

LOG_OFFSET=0   # size of server.log when this `up` launched the broker

log_tail() {
  # Print what the broker logged during this start-up attempt: the new part of
  # server.log, then the JVM's own stdout/stderr (e.g. "Too small maximum heap").
  local new_log=""
  [ -f "$LOG_DIR/server.log" ] && new_log="$(tail -c +"$((LOG_OFFSET + 1))" "$LOG_DIR/server.log" | tail -n 40)"
  if [ -n "$new_log" ]; then
    echo "----- last 40 lines of $LOG_DIR/server.log -----" >&2
    printf '%s\n' "$new_log" >&2
  fi
  if [ -s "$LOG_DIR/kafka.out" ]; then
    echo "----- $LOG_DIR/kafka.out (JVM output) -----" >&2
    tail -n 40 "$LOG_DIR/kafka.out" >&2
  fi
}

render() {
  # render <file>: the file with its @PLACEHOLDERS@ replaced.
  local tpl
  tpl="$(cat "$1")"
  tpl="${tpl//@KAFKA_PORT@/"$KAFKA_PORT"}"
  tpl="${tpl//@KAFKA_CONTROLLER_PORT@/"$KAFKA_CONTROLLER_PORT"}"
  tpl="${tpl//@KAFKA_PARTITIONS@/"$KAFKA_PARTITIONS"}"
  tpl="${tpl//@DATA_DIR@/"$DATA_DIR"}"
  printf '%s\n' "$tpl"
}

render_config() {
  mkdir -p "$RUN_DIR"
  local extra="${KAFKA_EXTRA_PROPERTIES:-}"
  if [ -z "$extra" ]; then
    render "$TEMPLATE" >"$CONFIG_FILE"
    return 0
  fi
  [ -f "$extra" ] && [ -r "$extra" ] || die "KAFKA_EXTRA_PROPERTIES: cannot read $extra"
  # The template's lines for keys the extra file sets are dropped, so that each key
  # is set once (running_port reads advertised.listeners with sed).
  render "$extra" >"$CONFIG_FILE.extra"
  awk 'function key(line) { sub(/[ \t]*[=:].*/, "", line); sub(/^[ \t]+/, "", line); return line }
       /^[ \t]*([#!]|$)/ { if (NR != FNR) print; next }
       NR == FNR { set[key($0)] = 1; next }
       !(key($0) in set)' "$CONFIG_FILE.extra" <(render "$TEMPLATE") >"$CONFIG_FILE"
  { printf '\n# ---- from KAFKA_EXTRA_PROPERTIES (%s) ----\n' "$extra"
    cat "$CONFIG_FILE.extra"; } >>"$CONFIG_FILE"
  rm -f "$CONFIG_FILE.extra"
}

new_cluster_id() {
  # A Kafka Uuid: 16 random bytes, URL-safe base64 without padding (22 chars);
  # like Uuid.randomUuid(), avoid a leading '-' (it would look like an option).
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [ "${id:0:1}" != "-" ] && { echo "$id"; return; }
  done
}

format_storage() {
  if [ -f "$DATA_DIR/meta.properties" ]; then
    log "format: storage already formatted ($DATA_DIR)"
    return 0
  fi
  local cid out scram=() line
  cid="$(new_cluster_id)"
  mkdir -p "$DATA_DIR"
  # SCRAM users go into the first metadata records: a SASL listener then accepts
  # them from the start, with no admin call over the network.
  while IFS= read -r line; do
    [ -n "$line" ] && scram+=(--add-scram "$line")
  done <<<"${KAFKA_SCRAM_CREDENTIALS:-}"
  local users=""
  [ "${#scram[@]}" -gt 0 ] && users=", $((${#scram[@]} / 2)) SCRAM users"
  log "format: formatting KRaft storage in $DATA_DIR (cluster id $cid$users)"
  if ! out="$(run_tool kafka.tools.StorageTool format -t "$cid" -c "$CONFIG_FILE" "${scram[@]}" 2>&1)"; then
    echo "$out" >&2
    die "kafka.tools.StorageTool format failed"
  fi
}

validate_number() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 must be a number, got '$2'"
}

# ------------------------------------------------------------------ topics --

ensure_topics() {
  # One --describe for all topics, then --create (--if-not-exists) for each missing one.
  local bs counts t n
  bs="$(bootstrap)"
  counts="$(run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --describe --exclude-internal \
            | partition_counts)"
  for t in "${TOPICS[@]}"; do
    n="$(awk -v t="$t" '$1 == t {print $2}' <<<"$counts")"
    if [ -z "$n" ]; then
      # The events and dead-letter topics carry oversized events whole, so that the
      # worker can reject them to the DLQ with a reason instead of losing them.
      local extra=()
      case "$t" in
        dossier-events|dossier-events-dlq) extra=(--config max.message.bytes=8388608) ;;
      esac
      run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --create --if-not-exists \
        --topic "$t" --partitions "$KAFKA_PARTITIONS" --replication-factor 1 "${extra[@]}" >/dev/null
      log "topics: created $t ($KAFKA_PARTITIONS partitions, replication 1)"
    elif [ "$n" = "$KAFKA_PARTITIONS" ]; then
      log "topics: $t exists ($n partitions)"
    else
      log "topics: WARNING: $t exists with $n partitions, KAFKA_PARTITIONS=$KAFKA_PARTITIONS (run 'reset' to recreate)"
    fi
  done
}

partition_counts() {
  # Reads `TopicCommand --describe` output; prints "<topic> <partition count>".
  awk '/PartitionCount:/ {
         t = ""; n = "";
         for (i = 1; i <= NF; i++) {
           if ($i == "Topic:") t = $(i + 1);
           if ($i == "PartitionCount:") n = $(i + 1);
         }
         if (t != "") print t, n
       }'
}

# ---------------------------------------------------------------- commands --

cmd_up() {
  validate_number KAFKA_PORT "$KAFKA_PORT"
  validate_number KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  validate_number KAFKA_PARTITIONS "$KAFKA_PARTITIONS"
  local pid
  if pid="$(broker_pid)"; then
    if kafka_answers "$(running_port)"; then
      log "up: already running (pid $pid, $(bootstrap)); nothing to do"
      return 0
    fi
    log "up: broker process $pid exists but does not answer yet; waiting"
  else
    rm -f "$PID_FILE"
    cmd_install
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
      if port_open "$p"; then
        die "port 127.0.0.1:$p is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
      fi
    done
    render_config
    format_storage
    mkdir -p "$LOG_DIR"
    LOG_OFFSET="$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)"
    log "up: starting broker on 127.0.0.1:$KAFKA_PORT (controller :$KAFKA_CONTROLLER_PORT), logs in $LOG_DIR"
    # Own session (setsid) so a Ctrl-C / SIGHUP aimed at the caller does not
    # reach the broker; the inner shell records its pid, then becomes java.
    local launcher=()
    command -v setsid >/dev/null 2>&1 && launcher=(setsid)
    # shellcheck disable=SC2086,SC2016  # KAFKA_HEAP_OPTS is a list of options; $$ is for the inner shell
    "${launcher[@]}" nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
      "$JAVA" $KAFKA_HEAP_OPTS \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$LOG4J_CONFIG" "-Dkafka.logs.dir=$LOG_DIR" \
      -Dkafka.log.file=server.log \
      -cp "$LIB_DIR/*" kafka.Kafka "$CONFIG_FILE" \
      >"$LOG_DIR/kafka.out" 2>&1 </dev/null &
    # Wait for the pid file written by the launcher.
    local _
    for _ in $(seq 1 50); do
      [ -s "$PID_FILE" ] && break
      sleep 0.1
    done
  fi

  local start=$SECONDS port
  port="$(running_port)"
  while :; do
    if ! pid="$(broker_pid)"; then
      sleep 0.5   # the launcher may still be exec'ing java
      if ! pid="$(broker_pid)"; then
        log_tail
        rm -f "$PID_FILE"
        die "broker process exited during start-up (see $LOG_DIR)"
      fi
    fi
    if kafka_answers "$port"; then
      break
    fi
    if [ $((SECONDS - start)) -ge "$KAFKA_UP_TIMEOUT" ]; then
      log_tail
      log "up: broker did not answer within ${KAFKA_UP_TIMEOUT}s, stopping it"
      cmd_down >&2
      die "broker did not answer on 127.0.0.1:$port within ${KAFKA_UP_TIMEOUT}s (logs: $LOG_DIR)"
    fi
    sleep 0.5
  done
  log "up: broker answers on 127.0.0.1:$port (pid $pid, $((SECONDS - start))s)"
  ensure_topics
  log "up: ready"
}

cmd_down() {
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE"
    log "down: not running"
    return 0
  fi
  log "down: stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$STOP_TIMEOUT" ]; then
      log "down: still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$PID_FILE"
  log "down: stopped ($((SECONDS - start))s)"
}

cmd_status() {
  local pid
  if pid="$(broker_pid)" && kafka_answers "$(running_port)"; then
    log "status: running (pid $pid, $(bootstrap))"
    return 0
  fi
  if [ -n "${pid:-}" ]; then
    log "status: process $pid exists but does not answer on $(bootstrap)"
  else
    log "status: not running"
  fi
  return 1
}

cmd_reset() {
  cmd_down
  log "reset: deleting $DATA_DIR"
  rm -rf "$DATA_DIR" "$CONFIG_FILE"
}

cmd_topics() {
  if ! broker_pid >/dev/null || ! kafka_answers "$(running_port)"; then
    die "broker is not running (run '$0 up')"
  fi
  ensure_java
  local out
  out="$(run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(bootstrap)" --describe --exclude-internal)"
  printf '%-40s %s\n' TOPIC PARTITIONS
  partition_counts <<<"$out" | sort | awk '{printf "%-40s %s\n", $1, $2}'
}

usage() {
  sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    topics) cmd_topics ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
