import { InvalidArgumentError } from 'commander';
import { escapeForTerminal } from '../text-safety.ts';

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  verbose?: boolean;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * `--json` prints exactly one JSON document on stdout; otherwise the human summary, with
 * any control character or bidi override in it (from a paper title, a name) written out, so
 * stored text can never drive the terminal.
 */
export function emit(options: CommonOptions, document: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(document, null, 2)}\n` : `${escapeForTerminal(human())}\n`);
}

/** A fixed-width table: columns padded to their widest cell, the last column left ragged. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function truncate(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** Parses a whole positive number option such as `--limit 20`. */
export function positiveInteger(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1, got "${value}"`);
    return Number(value);
  };
}

/** Parses a `YYYY-MM-DD` (or full ISO timestamp) option. */
export function isoDate(name: string) {
  return (value: string): string => {
    if (!/^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(value) || Number.isNaN(Date.parse(value))) {
      throw new InvalidArgumentError(`${name} must be a date such as 2026-11-03, got "${value}"`);
    }
    return value;
  };
}
