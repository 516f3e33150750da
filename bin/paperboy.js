#!/usr/bin/env node
// Loads the TypeScript CLI through tsx's loader in this same process, so `npx paperboy`
// needs no build step and signals reach the CLI directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
