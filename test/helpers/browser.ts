import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { describe } from 'vitest';

/**
 * The real headless Chromium every browser test drives. Page-side code is passed to it as
 * strings: the project compiles without the DOM library.
 */
const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);

/** A suite that needs Chromium: skipped, and saying why, on a machine without it. */
export function describeInChromium(title: string, suite: () => void): void {
  describe.skipIf(!hasChromium)(hasChromium ? title : `${title}: skipped, no browser at ${CHROMIUM}`, suite);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}
