// Run under `node --cpu-prof`: opens the SQLite store at argv[2], says "ready", and on "go" (stdin) records a run while another connection holds the write lock.
import { once } from 'node:events';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

const store = openSqliteStore(process.argv[2]!);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const id = await store.insertRun('manual', '2026-12-03T07:00:00.000Z');
process.stdout.write(`run ${id}\n`);
await store.close();
process.stdin.destroy();
