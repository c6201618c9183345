// Typed errors for opening and using TUN devices and UDP sockets. Each message says what to do.
// Expected per-packet problems (malformed super-packets, bad checksums, unknown peers) are never thrown: they
// are counted in stats() and the batch goes on.

/** Base class: every error this package throws for a system call carries the errno name in `code`. */
export class TunnelError extends Error {
  override name = 'TunnelError';
  constructor(
    message: string,
    readonly code: string = 'EUNKNOWN',
    readonly syscall: string = '',
  ) {
    super(message);
  }
}

/** /dev/net/tun does not exist: load the `tun` module, or give the container the device. Fatal for this process. */
export class TunUnavailableError extends TunnelError {
  override name = 'TunUnavailableError';
}

/** The process lacks CAP_NET_ADMIN (TUNSETIFF, setns, forced buffer sizes). Run as root or grant the capability. */
export class NotPermittedError extends TunnelError {
  override name = 'NotPermittedError';
}

/** The device is held by another process (not multi-queue) or exists with other flags. Pick another name or close it. */
export class DeviceBusyError extends TunnelError {
  override name = 'DeviceBusyError';
}

/** The interface name is not one the kernel accepts: 1 to 15 bytes, no '/', ':' or whitespace, not '.' or '..'. */
export class BadNameError extends TunnelError {
  override name = 'BadNameError';
}

/** The network namespace to create the device or socket in could not be entered (no /run/netns/NAME?). */
export class NamespaceError extends TunnelError {
  override name = 'NamespaceError';
}

/** Any other failed system call (bind: address in use, not available...); `code` has the errno name. */
export class TunnelIoError extends TunnelError {
  override name = 'TunnelIoError';
}

interface SysError {
  code?: string;
  syscall?: string;
  message: string;
}

/** Maps an addon error (code, syscall) to the typed error a caller can act on. */
export function mapSystemError(e: unknown, what: string): Error {
  const err = e as SysError;
  if (typeof err?.code !== 'string') return e as Error;
  const code = err.code;
  const sys = err.syscall ?? '';
  const at = `${what}: ${err.message}`;
  if (sys === 'setns' || sys === 'open namespace') {
    if (code === 'EPERM')
      return new NotPermittedError(`${at}: entering a namespace needs CAP_SYS_ADMIN (run as root)`, code, sys);
    return new NamespaceError(
      `${at}: create it first (\`ip netns add NAME\`) or pass an existing /run/netns path`,
      code,
      sys,
    );
  }
  if (code === 'EPERM' || code === 'EACCES') {
    return new NotPermittedError(
      `${at}: needs CAP_NET_ADMIN (run as root, or \`setcap cap_net_admin+ep\` on node)`,
      code,
      sys,
    );
  }
  if (sys === 'open' && (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO')) {
    return new TunUnavailableError(
      `${at}: no TUN driver: \`modprobe tun\`, or run the container with --device /dev/net/tun`,
      code,
      sys,
    );
  }
  if (code === 'EBUSY')
    return new DeviceBusyError(`${at}: another process has this device open; close it or use another name`, code, sys);
  if (sys === 'TUNSETIFF' && code === 'ENAMETOOLONG')
    return new BadNameError(`${at}: interface names are at most 15 bytes`, code, sys);
  if (sys === 'TUNSETIFF' && code === 'EINVAL') {
    return new DeviceBusyError(
      `${at}: a device of this name exists with other flags (multi-queue, vnet header) or is not a TUN`,
      code,
      sys,
    );
  }
  return new TunnelIoError(at, code, sys);
}

/** Checks an interface name the way the kernel's dev_valid_name() does, before any system call. */
export function checkInterfaceName(name: string): void {
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 15)
    throw new BadNameError(`interface name "${name}" is ${bytes} bytes; use 1 to 15`, 'EINVAL');
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) {
    throw new BadNameError(`interface name "${name}" contains '/', ':' or whitespace, or is '.'/'..'`, 'EINVAL');
  }
}
