#!/bin/sh
# Entry point of a weft node container in docker-compose.yml: runs `weft agent` and then does what a CNI
# plugin does on a real node, once the agent has leased a subnet: give the pod-side interface the subnet's
# first address (the pods' gateway) and the overlay MTU.
#   env WEFT_UNDERLAY_IP  this node's address on the underlay network (to find that interface for --iface)
#       WEFT_PODLINK_IP   this node's address on its pod network (to find the pod-side interface)
#       WEFT_METRICS_PORT the agent's /metrics, /readyz, /status port (default 9465)
#   args: extra `weft agent` flags (compose `command:`)
set -eu

iface_of() { ip -o -4 addr show to "$1/32" | awk '{ print $2; exit }'; }
underlay_if="$(iface_of "$WEFT_UNDERLAY_IP")"
pod_if="$(iface_of "$WEFT_PODLINK_IP")"
[ -n "$underlay_if" ] && [ -n "$pod_if" ] || { echo "node-entry: no interface with $WEFT_UNDERLAY_IP or $WEFT_PODLINK_IP" >&2; ip -o -4 addr >&2; exit 1; }
subnet_file=/run/flannel/subnet.env
port="${WEFT_METRICS_PORT:-9465}"
# The pod waits for this marker, written once the gateway is in place (removed first: it may be from a last run).
marker=/run/flannel/node-ready
rm -f "$marker"

# subnet.env is kept across restarts (the agent asks for the same subnet again), so its presence proves nothing:
# the agent's /readyz (lease held, forwarding running) says when the file is current.
node /opt/weft/agent/bin/weft.mjs agent --iface "$underlay_if" --public-ip "$WEFT_UNDERLAY_IP" --subnet-file "$subnet_file" \
  --metrics-port "$port" "$@" &
agent=$!
trap 'kill -TERM "$agent" 2>/dev/null || true' TERM INT

ready() { node -e "fetch('http://127.0.0.1:$port/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; }
# Bounded wait (120 s); give up as soon as the agent has died.
i=0
until ready; do
  kill -0 "$agent" 2>/dev/null || { wait "$agent" || exit $?; exit 1; }
  i=$((i + 1)); [ "$i" -le 240 ] || { echo "node-entry: agent not ready after 120 s" >&2; kill -TERM "$agent"; exit 1; }
  sleep 0.5
done
. "$subnet_file"
ip link set "$pod_if" mtu "$FLANNEL_MTU"
ip addr replace "$FLANNEL_SUBNET" dev "$pod_if"
echo "$FLANNEL_SUBNET" >"$marker"
echo "node-entry: lease $FLANNEL_SUBNET (MTU $FLANNEL_MTU): gateway on $pod_if, underlay $underlay_if"

# The first wait returns early when the trap fires; the second collects the agent's own exit status.
status=0
wait "$agent" || status=$?
if kill -0 "$agent" 2>/dev/null; then wait "$agent" || status=$?; fi
exit "$status"
