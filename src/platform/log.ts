// Structured logging: one JSON object per line on stderr. Quiet by default: request lines are
// printed only at level 'debug'; warnings and errors always.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const threshold = ORDER[level];
  return {
    level,
    enabled: (l) => ORDER[l] >= threshold,
    log(l, event, fields) {
      if (ORDER[l] < threshold) return;
      write(JSON.stringify({ time: new Date().toISOString(), level: l, event, ...fields }) + '\n');
    },
  };
}
