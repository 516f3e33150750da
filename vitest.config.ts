import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once: the CLI subprocess tests run the compiled JavaScript.
    globalSetup: ['test/global-setup.ts'],
    // Tests open real SQLite files, real SMTP servers and a real browser: give them room.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
