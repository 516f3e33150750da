// Opens the SQLite store at argv[2] (migrating a new file) and exits: one of several processes racing to open it.
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

const store = openSqliteStore(process.argv[2]!);
process.stdout.write(String(await store.ping()));
await store.close();
