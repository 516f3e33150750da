import type { Command } from 'commander';
import { PaperboyError, isPaperboyError, oneLine } from '../../errors.ts';
import { importIntoPostgres } from '../../store/postgres/import.ts';
import { describeDatabaseUrl } from '../../store/postgres/store.ts';
import { openSqliteExport } from '../../store/sqlite/export.ts';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, emit, table, type CommonOptions } from '../output.ts';

export function registerDb(program: Command): void {
  const db = program.command('db').description('move the store between databases');
  db.command('copy')
    .description('copy every table of a SQLite store into an empty PostgreSQL database, verified by counts')
    .requiredOption('--from <sqlite:PATH>', 'the SQLite store, e.g. sqlite:data/paperboy.db')
    .requiredOption('--to <postgres://…>', 'the PostgreSQL database (migrated if new; must be empty)')
    .option('--json', 'print one JSON document on stdout')
    .option('-v, --verbose', 'stack traces')
    .action(async (options: CommonOptions & { from: string; to: string }) => {
      try {
        if (!options.from.startsWith('sqlite:')) throw new PaperboyError('USAGE', `--from ${options.from}: expected sqlite:PATH`);
        if (!/^postgres(ql)?:\/\//.test(options.to)) throw new PaperboyError('USAGE', `--to ${describeDatabaseUrl(options.to)}: expected a postgres:// URL`);
        const source = await openSqliteExport(options.from.slice('sqlite:'.length));
        try {
          const counts = await importIntoPostgres(source, { url: options.to });
          emit(options, { from: options.from, to: describeDatabaseUrl(options.to), tables: counts }, () =>
            [
              table(['TABLE', 'SQLITE', 'POSTGRES'], counts.map((c) => [c.table, String(c.source), String(c.target)])),
              `copied ${counts.reduce((sum, c) => sum + c.target, 0)} rows into ${describeDatabaseUrl(options.to)}; every count matches`,
            ].join('\n'),
          );
          process.exitCode = EXIT_OK;
        } finally {
          source.close();
        }
      } catch (error) {
        process.stderr.write(`paperboy: ${oneLine(error)}\n`);
        if (options.verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
        process.exitCode = isPaperboyError(error, 'USAGE') ? EXIT_USAGE : EXIT_FAILED;
      }
    });
}
