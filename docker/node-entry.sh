#!/bin/sh
# Entry point of a weft node container in docker-compose.yml: runs `weft agent`, installs weft as the node's CNI
# plugin, and once the agent holds a lease attaches its pod the way a container runtime does: the node's CNI chain
# (weft -> Debian's bridge + host-local, then portmap) run for the pod's network namespace, /proc/PID/ns/net (the
# pod shares this container's PID namespace and writes its PID into the volume they share).
#   env WEFT_UNDERLAY_IP  this node's address on the underlay network (to find that interface for --iface)
#       WEFT_POD          the pod's name (its CNI container ID)
#       WEFT_METRICS_PORT the agent's /metrics, /readyz, /status port (default 9465)
#   args: extra `weft agent` flags (compose `command:`)
set -eu

iface_of() { ip -o -4 addr show to "$1/32" | awk '{ print $2; exit }'; }
underlay_if="$(iface_of "$WEFT_UNDERLAY_IP")"
[ -n "$underlay_if" ] || { echo "node-entry: no interface with $WEFT_UNDERLAY_IP" >&2; ip -o -4 addr >&2; exit 1; }
subnet_file=/run/flannel/subnet.env
port="${WEFT_METRICS_PORT:-9465}"
weft="node /opt/weft/agent/bin/weft.mjs"

# Docker mounts /proc/sys read-only; bridge writes sysctls of the pod's interface there (arp_notify). Only the
# per-network-namespace part, /proc/sys/net, is made writable (SYS_ADMIN), never the kernel-wide sysctls.
if ! touch /proc/sys/net/ipv4/conf/all/arp_notify 2>/dev/null; then
  mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net ||
    echo "node-entry: /proc/sys/net stays read-only" >&2
fi

# subnet.env is kept across restarts (the agent asks for the same subnet again), so its presence proves nothing:
# the agent's /readyz (lease held, forwarding running) says when the file is current.
$weft agent --iface "$underlay_if" --public-ip "$WEFT_UNDERLAY_IP" --subnet-file "$subnet_file" \
  --metrics-port "$port" "$@" &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null || true' TERM INT
# While the agent starts: the launcher and 10-weft.conflist (weft, portmap) in the standard places; the standard
# plugins are Debian's, in /usr/lib/cni.
$weft cni install --bin-dir /opt/cni/bin --conf-dir /etc/cni/net.d

ready() { node -e "fetch('http://127.0.0.1:$port/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; }
# The pod's PID, once the pod is up and still in pod-entry.sh (a PID file of an earlier run names nothing of that).
pod_pid() {
  pid="$(cat /run/weft-pod/pid 2>/dev/null || true)"
  [ -n "$pid" ] && grep -q pod-entry "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}
# Bounded waits (120 s each); give up as soon as the agent has died.
wait_until() {
  i=0
  until "$1" >/dev/null; do
    kill -0 "$agent" 2>/dev/null || { wait "$agent" || exit $?; exit 1; }
    i=$((i + 1)); [ "$i" -le 240 ] || { echo "node-entry: $2 not there after 120 s" >&2; kill -TERM "$agent"; exit 1; }
    sleep 0.5
  done
}
wait_until ready "the agent's /readyz"
. "$subnet_file"
echo "node-entry: lease $FLANNEL_SUBNET (MTU $FLANNEL_MTU), underlay $underlay_if"
wait_until pod_pid "$WEFT_POD's PID"
pid="$(pod_pid)"
# The result (the pod's address) goes where the pod can read it; the chain also keeps it for del and check.
$weft cni add --netns "/proc/$pid/ns/net" --container-id "$WEFT_POD" >/run/weft-pod/result.json.tmp
mv /run/weft-pod/result.json.tmp /run/weft-pod/result.json
echo "node-entry: $WEFT_POD (pid $pid) attached through CNI: $(tr -d ' \n' </run/weft-pod/result.json | grep -o '"address":"[^"]*"')"

# The first wait returns early when the trap fires; the second collects the agent's own exit status.
status=0
wait "$agent" || status=$?
if kill -0 "$agent" 2>/dev/null; then wait "$agent" || status=$?; fi
exit "$status"
