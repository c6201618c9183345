// The net-confs of the dual-stack and IPv6-only agent tests: flannel's 10.244.0.0/16 beside one IPv6 network.

/** The tests' IPv6 cluster network (flannel hands out /64 node subnets from it). */
export const NET6 = 'fd00:10:244::/56';

/** A dual-stack net-conf on `backend`: 10.244.0.0/16 and NET6. */
export function dualStackConf(backend: string) {
  return { Network: '10.244.0.0/16', EnableIPv6: true, IPv6Network: NET6, Backend: { Type: backend } };
}

/** An IPv6-only net-conf on `backend`: NET6, IPv4 switched off. */
export function ipv6OnlyConf(backend: string) {
  return { EnableIPv4: false, EnableIPv6: true, IPv6Network: NET6, Backend: { Type: backend } };
}
