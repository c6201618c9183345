#!/bin/sh
# Entry point of a pod container in docker-compose.yml. The pod sits only on its node's pod network; like a
# CNI plugin, it reads the node's subnet.env (shared volume, read-only) once the node has put the gateway in
# place (node-entry.sh writes node-ready then), takes the address after the gateway (FLANNEL_SUBNET is the
# subnet's first address, the node's side), and routes everything via its node.
#   env WEFT_PODLINK_IP  this pod's address on the pod network (to find the interface)
set -eu

subnet_file=/run/flannel/subnet.env
i=0
while [ ! -s /run/flannel/node-ready ]; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "pod-entry: node not ready after 120 s" >&2; exit 1; }
  sleep 0.2
done
. "$subnet_file"
gateway="${FLANNEL_SUBNET%/*}"
prefix_len="${FLANNEL_SUBNET#*/}"
# The next address after the gateway: with SubnetLen 24 and one pod per node it never leaves the subnet.
address="${gateway%.*}.$((${gateway##*.} + 1))"
dev="$(ip -o -4 addr show to "$WEFT_PODLINK_IP/32" | awk '{ print $2; exit }')"
ip link set "$dev" mtu "$FLANNEL_MTU"
ip addr replace "$address/$prefix_len" dev "$dev"
ip route replace default via "$gateway" dev "$dev"
echo "$address" >/run/pod-ip
echo "pod-entry: $address/$prefix_len on $dev, default via $gateway (MTU $FLANNEL_MTU)"
exec sleep infinity
