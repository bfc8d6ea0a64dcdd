# Sourced by scripts/test and scripts/run: a local Redis Cluster of 3 masters and 3 replicas from
# Debian's redis-server, on free local ports, its files in a temp dir.
#   redis_cluster_start   starts it and exports REDIS_CLUSTER_URL (one node's URL; the client finds the rest)
#   redis_cluster_stop    kills its nodes (by their pids) and removes the temp dir; safe to call twice
# The caller arranges redis_cluster_stop on EXIT, so it is torn down even when the run fails.

REDIS_CLUSTER_DIR=""
REDIS_CLUSTER_PORTS=()

redis_cluster_start() {
  REDIS_CLUSTER_DIR="$(mktemp -d -t stagegate-cluster.XXXXXX)"
  # Six ports whose cluster bus port (port + 10000) is free too.
  read -r -a REDIS_CLUSTER_PORTS <<<"$(python3 - <<'PY'
import socket

def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True

ports = []
while len(ports) < 6:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port < 55535 and port not in ports and free(port + 10000):
        ports.append(port)
print(" ".join(map(str, ports)))
PY
)"
  local port nodes=()
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    mkdir -p "$REDIS_CLUSTER_DIR/$port"
    # Nothing on disk but the node table, like the machine's Redis; a quick failover for drills.
    redis-server --port "$port" --bind 127.0.0.1 --dir "$REDIS_CLUSTER_DIR/$port" --daemonize yes \
      --pidfile "$REDIS_CLUSTER_DIR/$port/redis.pid" --logfile "$REDIS_CLUSTER_DIR/$port/redis.log" \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --save "" --appendonly no >/dev/null
    nodes+=("127.0.0.1:$port")
  done
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >"$REDIS_CLUSTER_DIR/create.log" 2>&1 || {
    log "redis cluster create failed: $(tail -5 "$REDIS_CLUSTER_DIR/create.log")"
    return 1
  }
  for _ in $(seq 100); do
    redis-cli -p "${REDIS_CLUSTER_PORTS[0]}" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break
    sleep 0.1
  done
  # Every node must agree before a client asks: a node still joining would answer CLUSTERDOWN.
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    for _ in $(seq 100); do
      redis-cli -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' && break
      sleep 0.1
    done
  done
  export REDIS_CLUSTER_URL="redis://127.0.0.1:${REDIS_CLUSTER_PORTS[0]}/0"
  log "Redis Cluster (3 masters, 3 replicas) on 127.0.0.1:${REDIS_CLUSTER_PORTS[*]}"
}

redis_cluster_stop() {
  [ -n "$REDIS_CLUSTER_DIR" ] || return 0
  local port pid
  for port in "${REDIS_CLUSTER_PORTS[@]}"; do
    pid="$(cat "$REDIS_CLUSTER_DIR/$port/redis.pid" 2>/dev/null || true)"
    if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  rm -rf "$REDIS_CLUSTER_DIR"
  REDIS_CLUSTER_DIR=""
}
