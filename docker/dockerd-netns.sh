#!/bin/sh
# Runs a private dockerd inside an existing network namespace, changing nothing on the host:
#   docker/dockerd-netns.sh NETNS DIR [DOCKERD_FLAG...]
# Everything it owns lives under DIR (socket DIR/docker.sock, --data-root, --exec-root, PID file, config), and
# every bridge and veth it makes lives in NETNS, so deleting the namespace removes them. Of itself it never touches
# iptables, IP masquerading, forwarding or a default bridge. The script execs into dockerd, so its PID (and the
# one in DIR/docker.pid) is dockerd's: stop it with SIGTERM to that PID. DOCKERD_FLAGs follow the script's own
# flags, so they win (dockerd keeps a flag's last value): e.g. `--bridge= --bip=10.244.1.1/24 --iptables=true`
# gives it a default bridge (then the caller decides whether the namespace forwards).
#
# `ip netns exec` gives the command a private (slave) mount namespace with a fresh /sys for NETNS, so the
# overlay and bind mounts dockerd makes stay out of the host's mount table. That fresh /sys lacks the host's
# cgroup mounts, which dockerd and runc need; the inner half mounts the same hierarchies again, in that private
# mount namespace only. Container cgroups go below this process's own cgroup (a relative --cgroup-parent), so
# they stay within whatever limits this process runs under.
set -eu

if [ "${1:-}" != "--inside" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 NETNS DIR [DOCKERD_FLAG...]" >&2; exit 2; }
  ns="$1"; dir="$2"; shift 2
  mkdir -p "$dir"
  WEFT_CGROUP_MOUNTS="$(findmnt -rn -t cgroup,cgroup2 -o TARGET,FSTYPE,OPTIONS)"
  export WEFT_CGROUP_MOUNTS
  exec ip netns exec "$ns" sh "$0" --inside "$dir" "$@"
fi

dir="$2"; shift 2
if echo "$WEFT_CGROUP_MOUNTS" | grep -q '^/sys/fs/cgroup/'; then
  # cgroup v1 or hybrid: the hierarchies hang below a tmpfs on /sys/fs/cgroup.
  mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
fi
echo "$WEFT_CGROUP_MOUNTS" | while read -r target fstype options; do
  [ -n "$target" ] || continue
  mkdir -p "$target"
  mount -t "$fstype" -o "$options" "$fstype" "$target"
done

# This namespace must not route between the containers' networks: pod traffic has to go through weft.
sysctl -qw net.ipv4.ip_forward=0
[ -f "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"

exec dockerd \
  --host "unix://$dir/docker.sock" \
  --data-root "$dir/data" \
  --exec-root "$dir/exec" \
  --pidfile "$dir/docker.pid" \
  --config-file "$dir/daemon.json" \
  --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false --bridge=none --userland-proxy=false \
  --exec-opt native.cgroupdriver=cgroupfs \
  --cgroup-parent "weft-$(basename "$dir")" \
  --storage-driver overlay2 \
  "$@"
