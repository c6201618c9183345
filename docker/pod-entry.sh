#!/bin/sh
# Entry point of a pod container in docker-compose.yml. The pod has no network of Docker's (network_mode: none)
# and shares its node's PID namespace: it writes its PID into the volume it shares with the node, whose CNI chain
# then gives it eth0 (a veth from the node's cni0 bridge, an address of the node's lease from host-local, routes
# via the bridge). It waits for that address, records it in /run/pod-ip, and sleeps.
set -eu

echo "$$" >/run/weft-pod/pid
i=0
until address="$(ip -o -4 addr show dev eth0 2>/dev/null | awk '{ split($4, a, "/"); print a[1]; exit }')" && [ -n "$address" ]; do
  i=$((i + 1)); [ "$i" -le 600 ] || { echo "pod-entry: no address on eth0 after 120 s" >&2; exit 1; }
  sleep 0.2
done
echo "$address" >/run/pod-ip
echo "pod-entry: $address on eth0 from the node's CNI chain; $(ip route show default)"
exec sleep infinity
