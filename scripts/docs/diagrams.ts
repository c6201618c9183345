// Hand-drawn packet paths for the lessons (the only hand-written "data" in the docs; addresses are symbolic).

const overlay = (
  wrap: string,
  port: number,
  added: string,
) => ` node n1                                                   node n2
 +---------------------------------+                       +---------------------------------+
 | pod n1p1                        |                       |                        pod n2p1 |
 |  eth0 ---veth--- cni0 bridge    |                       |    cni0 bridge ---veth--- eth0  |
 |                    |            |                       |            ^                    |
 |     route 10.244.0.0/16         |                       |   route POD_SUBNET dev cni0     |
 |          dev flannel0           |                       |            |                    |
 |                    v            |                       |            |                    |
 |  flannel0 (TUN) -> weft agent   |                       |   weft agent -> flannel0 (TUN)  |
 |   forwarding table: subnet ->   |                       |   peer known? decapsulate       |
 |   peer${wrap.padEnd(26)}|                       |                                 |
 |   UDP socket :${String(port).padEnd(18)}|                       |   UDP socket :${String(port).padEnd(18)}|
 |                    |            |                       |            ^                    |
 |                  eth0 ==========|== underlay (br0) =====|========= eth0                   |
 +---------------------------------+                       +---------------------------------+

 on the underlay: ${added}`;

export const DIAGRAMS = {
  udp: overlay('', 8285, '[outer IPv4 20][UDP 8 -> :8285][pod IP packet ...]   (+28 bytes)'),
  vxlan: overlay(
    ' + VTEP MAC',
    8472,
    '[outer IPv4 20][UDP 8 -> :8472][VXLAN 8: VNI][inner Ethernet 14: VTEP -> VTEP][pod IP packet ...]   (+50 bytes)',
  ),
  native: ` node n1                                               node n2
 +------------------------------------+                +------------------------------------+
 | pod n1p1                           |                |                           pod n2p1 |
 |  eth0 ---veth--- cni0 bridge       |                |       cni0 bridge ---veth--- eth0  |
 |                    |               |                |            ^                       |
 |  kernel: route N2_SUBNET           |                |   kernel: route N2_SUBNET dev cni0 |
 |          via N2_UNDERLAY dev eth0  |                |            |                       |
 |          (put there by the agent   |                |            |                       |
 |           from n2's lease)         |                |            |                       |
 |                  eth0 =============|== underlay ====|========= eth0                      |
 +------------------------------------+                +------------------------------------+

 on the underlay: [Ethernet 14: n1 eth0 -> n2 eth0][pod IP packet ...]   (+0 bytes; TTL - 1 per node)`,
  nativeBgp: ` node n1                                               node n2
 +------------------------------------+                +------------------------------------+
 | weft agent: BGP speaker AS 64512   |<-- TCP 179 --->| weft agent: BGP speaker AS 64512   |
 |   UPDATE in: N2_SUBNET             |   (iBGP mesh)  |   UPDATE out: N2_SUBNET            |
 |     next hop N2_UNDERLAY           |                |     next hop N2_UNDERLAY           |
 |     -> ip route N2_SUBNET          |                |                                    |
 |          via N2_UNDERLAY dev eth0  |                |                                    |
 |                                    |                |                                    |
 | pod n1p1 -> cni0 -> kernel route --|== underlay ====|--> eth0 -> cni0 -> pod n2p1        |
 +------------------------------------+                +------------------------------------+

 on the underlay: [Ethernet 14][pod IP packet ...]   (+0 bytes: BGP only decides the route)`,
};

export const BGP_DIAGRAM = `   n1 (192.0.2.11)                                   n2 (192.0.2.12)
        |                                                 |
        |<================ TCP handshake, port 179 =======>|   either side may connect
        |------------------ OPEN ------------------------>|   version 4, AS, hold time, BGP ID,
        |<----------------- OPEN -------------------------|   capabilities (MP, 4-octet AS, GR ...)
        |------------------ KEEPALIVE ------------------->|   "your OPEN is acceptable"
        |<----------------- KEEPALIVE --------------------|   both sides: Established
        |------------------ UPDATE (n1's subnet) -------->|   NLRI + ORIGIN, AS_PATH, NEXT_HOP,
        |<----------------- UPDATE (n2's subnet) ---------|   LOCAL_PREF
        |<----------------- UPDATE (End-of-RIB) ----------|   (empty UPDATE: initial table sent)
        |  ... KEEPALIVE every hold time / 3 ...          |
        |<----------------- NOTIFICATION (Cease) ---------|   on shutdown, then TCP FIN`;
