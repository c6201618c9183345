// OpenVPN as the reference userspace tunnel, the way /work/shared/peers/README.md's recipe runs it: peer-to-peer
// over UDP port 1194 with no cipher and no auth, data-channel offload off (so the packets do cross userspace).

/** The TUN and underlay addresses of one side of the tunnel. */
export interface OpenvpnPeer {
  /** This side's and the other side's underlay address. */
  local: string;
  remote: string;
  /** This side's and the other side's tun0 address. */
  tunLocal: string;
  tunRemote: string;
}

/** What the recipe says speeds OpenVPN up: --fast-io and 4 MB socket buffers. */
export const OPENVPN_FAST = ['--fast-io', '--sndbuf', '4194304', '--rcvbuf', '4194304'];

/**
 * The `openvpn` argv for one side: tun0 with MTU `tunMtu`, log verbosity `verb`, then `extra` flags. MSS clamping is
 * off (--mssfix 0): the pods' own MTU decides segment sizes, as in the overlays it is compared with.
 */
export function openvpnArgv(p: OpenvpnPeer, tunMtu: number, verb: number, extra: readonly string[] = []): string[] {
  return [
    'openvpn',
    ...['--dev', 'tun0', '--dev-type', 'tun', '--proto', 'udp'],
    ...['--local', p.local, '--lport', '1194', '--remote', p.remote, '--rport', '1194'],
    ...['--ifconfig', p.tunLocal, p.tunRemote],
    ...['--cipher', 'none', '--auth', 'none'],
    ...['--tun-mtu', String(tunMtu), '--mssfix', '0', '--disable-dco'],
    ...['--verb', String(verb)],
    ...extra,
  ];
}
