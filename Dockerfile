# The weft agent image, built from this checkout as it is, including its node_modules.
#
# The native addons (better-sqlite3 and packages/tunnel/build) are compiled by `npm ci` on the machine that
# builds the image, for its Node 20 and glibc; the base image carries that same Node binary on Debian bookworm
# (glibc 2.36), so they load unchanged. Build the base first, without any registry: docker/base-image.sh.
# Only COPY here, no RUN, so the build needs no network at all. A build that runs `npm ci` inside the image
# (for a checkout without node_modules) needs registry access; see docker/README.md for that variant.
ARG BASE=weft-base:bookworm
FROM ${BASE}
WORKDIR /opt/weft
COPY . /opt/weft
ENTRYPOINT ["node", "/opt/weft/agent/bin/weft.mjs"]
CMD ["agent", "--help"]
