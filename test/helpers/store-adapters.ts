import type { Store } from '../../src/store/port.ts';
import { tempSqliteStore } from './store.ts';

/** Every store adapter, each opening a fresh, empty store: what the contract suite runs against. */
export const STORE_ADAPTERS: { name: string; open: () => Promise<Store> }[] = [{ name: 'sqlite', open: async () => tempSqliteStore().store }];
