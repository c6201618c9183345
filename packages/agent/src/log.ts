// Logging: pino JSON, one line per event (a lease change, a peer added, a store outage), never per packet.
// Each part logs through a child logger with a `component` field, so `jq 'select(.component=="lease")'`
// follows one part of the agent.
import pino, { type DestinationStream, type Logger } from 'pino';

export interface LoggerOptions {
  /** pino level name (default info). */
  level?: string;
  /** Added to every line, so logs of several agents on one machine can be told apart. */
  node?: string;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  destination?: DestinationStream;
}

/** The agent's root logger: JSON lines with an ISO timestamp and the node name. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: opts.node ? { node: opts.node } : {},
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination(1),
  );
}

/** A child logger for one part of the agent (`lease`, `store`, `vxlan`, `http`...). */
export function componentLogger(log: Logger, component: string): Logger {
  return log.child({ component });
}
