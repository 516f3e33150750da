import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DigestData } from '../../src/digest/digest-data.ts';
import { createRenderer } from '../../src/digest/render.ts';
import { digestOf, sampleDigest, samplePapers } from '../helpers/sample-digest.ts';
import { describeInChromium, launchChromium } from '../helpers/browser.ts';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
const WIDTHS = [375, 1024];

async function renderToFile(name: string, data: DigestData): Promise<string> {
  const renderer = await createRenderer({ templatesDir: TEMPLATES_DIR });
  const path = `${ARTIFACTS}${name}.html`;
  await writeFile(path, renderer.renderDigest(data).html);
  return pathToFileURL(path).href;
}

/** Fails the test if anything the page does reaches for the network or runs script. */
async function openOffline(browser: Browser, url: string, width: number, colorScheme: 'light' | 'dark'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 }, colorScheme, javaScriptEnabled: true });
  page.on('dialog', (dialog) => {
    throw new Error(`the digest opened a dialog: ${dialog.message()}`);
  });
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(url);
  return page;
}

describeInChromium('digest in Chromium', () => {
  const data = sampleDigest(samplePapers().slice(0, 50));
  let browser: Browser;
  let digestUrl: string;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    digestUrl = await renderToFile('digest', data);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  describe.each(WIDTHS)('at %i px', (width) => {
    it('fits the screen and shows every topic heading and paper title, each linked', async () => {
      const page = await openOffline(browser, digestUrl, width, 'light');
      try {
        const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
        expect(overflow, 'horizontal overflow in px').toBeLessThanOrEqual(0);

        const headings = page.locator('h2');
        await expect(headings.count()).resolves.toBe(data.sections.length);
        for (const [index, section] of data.sections.entries()) {
          const heading = headings.nth(index);
          expect(await heading.textContent()).toBe(section.topic.name);
          await expectShown(heading, section.topic.name);
        }

        const titles = page.locator('h3 a');
        const papers = data.sections.flatMap((section) => section.papers);
        await expect(titles.count()).resolves.toBe(papers.length);
        for (const [index, paper] of papers.entries()) {
          const title = titles.nth(index);
          expect(await title.textContent()).toBe(paper.title);
          expect(await title.getAttribute('href')).toBe(paper.url);
          await expectShown(title, paper.title);
        }

        await page.screenshot({ path: `${ARTIFACTS}digest-${width}.png`, fullPage: true });
      } finally {
        await page.close();
      }
    });
  });

  it.each([375, 1024])('is readable in dark mode at %ipx', async (width) => {
    const page = await openOffline(browser, digestUrl, width, 'dark');
    try {
      const colors = await page.evaluate<string[]>(
        "[getComputedStyle(document.querySelector('h3 a')).color, getComputedStyle(document.querySelector('.pb-card')).backgroundColor]",
      );
      expect(colors).toEqual(['rgb(243, 244, 246)', 'rgb(24, 27, 34)']);
      await page.screenshot({ path: `${ARTIFACTS}digest-${width}-dark.png`, fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('runs no script from hostile paper text', async () => {
    const evil = '<script>alert(1)</script><img src=x onerror=alert(2)>{{foo}}';
    const hostile = digestOf([
      { topic: { id: 't', name: evil }, papers: [{ ...samplePapers()[0]!, title: evil, abstract: evil }], moreCount: 0 },
    ]);
    const page = await openOffline(browser, await renderToFile('digest-hostile', hostile), 375, 'light');
    try {
      await expect(page.locator('script, img').count()).resolves.toBe(0);
      expect(await page.locator('h3 a').textContent()).toBe(evil);
    } finally {
      await page.close();
    }
  });
});

async function expectShown(locator: ReturnType<Page['locator']>, what: string): Promise<void> {
  expect(await locator.isVisible(), `${what} is visible`).toBe(true);
  const box = await locator.boundingBox();
  expect(box && box.width > 0 && box.height > 0, `${what} has a non-empty box`).toBe(true);
}
