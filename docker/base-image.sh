#!/bin/sh
# Builds the image the Dockerfile starts FROM (weft-base:bookworm) without any container registry:
# debootstrap a minimal Debian bookworm from the machine's Debian mirror, add this machine's own Node binary,
# and `docker import` the tree. The agent's native addons (better-sqlite3, packages/tunnel) are built by
# `npm ci` on this machine against its Node 20 and glibc 2.36, which is what bookworm ships, so they load there.
#
# debootstrap takes minutes, so the tarball is cached under $WEFT_CACHE_DIR (default /var/cache/weft), keyed
# by a hash of everything that goes into it (suite, mirror, package list, Node binary). The next run only imports.
#
# usage: docker/base-image.sh [--tar-only]     (uses `docker` as configured by DOCKER_HOST)
# env:   WEFT_DEBIAN_MIRROR (default: first URI of /etc/apt/sources.list.d/debian.sources, else deb.debian.org)
#        WEFT_CACHE_DIR, WEFT_BASE_TAG (default weft-base:bookworm), DOCKER (client binary, default docker)
set -eu

SUITE=bookworm
# iproute2: the agent configures its TUN device and routes; ping/iperf3: pod traffic checks; etcd-server and
# etcd-client: the compose topology's lease store and its health check; libstdc++6: Node and the addons;
# containernetworking-plugins: bridge, host-local, portmap and loopback, which weft's CNI plugin drives to attach
# the pods; iptables: the agent's masquerade and forward rules (--ip-masq).
PACKAGES="iproute2,iputils-ping,iperf3,ca-certificates,libstdc++6,procps,etcd-server,etcd-client,containernetworking-plugins,iptables"
TAG="${WEFT_BASE_TAG:-weft-base:bookworm}"
CACHE_DIR="${WEFT_CACHE_DIR:-/var/cache/weft}"
DOCKER="${DOCKER:-docker}"
NODE_BIN="$(command -v node)"

if [ -z "${WEFT_DEBIAN_MIRROR:-}" ] && [ -r /etc/apt/sources.list.d/debian.sources ]; then
  WEFT_DEBIAN_MIRROR="$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources | head -n 1)"
fi
MIRROR="${WEFT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

KEY="$( { echo "$SUITE $MIRROR $PACKAGES"; sha256sum "$NODE_BIN"; } | sha256sum | cut -c1-16)"
TARBALL="$CACHE_DIR/weft-base-$SUITE-$KEY.tar"

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { echo "base-image: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
  mkdir -p "$CACHE_DIR"
  WORK="$(mktemp -d "$CACHE_DIR/build.XXXXXX")"
  # Whatever happens, the half-built tree goes (after unmounting the /proc and /sys that debootstrap may leave
  # mounted inside it on failure); only a complete tarball is ever renamed into place.
  cleanup() {
    findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$WORK"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  echo "base-image: debootstrap $SUITE from $MIRROR (minutes; cached as $TARBALL)"
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$WORK/root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
  install -m 0755 "$NODE_BIN" "$WORK/root/usr/local/bin/node"
  # Package caches and lists are dead weight in an image that never runs apt.
  rm -rf "$WORK/root/var/cache/apt/archives/"*.deb "$WORK/root/var/lib/apt/lists/"* "$WORK/root/var/log/"*
  tar --numeric-owner -C "$WORK/root" -cf "$WORK/rootfs.tar" .
  mv "$WORK/rootfs.tar" "$TARBALL"
fi

[ "${1:-}" = "--tar-only" ] && { echo "$TARBALL"; exit 0; }

echo "base-image: importing $TARBALL as $TAG"
"$DOCKER" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sh"]' \
  "$TARBALL" "$TAG" >/dev/null
echo "base-image: $TAG ready"
