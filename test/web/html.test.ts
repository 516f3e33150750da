import { describe, expect, it } from 'vitest';
import { html } from '../../src/web/html.ts';

describe('html', () => {
  it('escapes every interpolated string and number', () => {
    const value = `<a href="x" onclick='y'>&amp;</a>`;
    expect(html`<p title="${value}">${value}</p>`.toString()).toBe(
      '<p title="&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;">&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;</p>',
    );
    expect(html`${42}`.toString()).toBe('42');
  });

  it('nests its own output as is, arrays joined, and renders null, undefined and false as nothing', () => {
    const items = ['<b>', 'c&d'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>${null}${undefined}${false}`.toString()).toBe('<ul><li>&lt;b&gt;</li><li>c&amp;d</li></ul>');
  });

  it('does not trust a string that merely looks like markup', () => {
    const fake = { text: '<script>', toString: () => '<script>' };
    expect(html`${fake as unknown as string}`.toString()).toBe('&lt;script&gt;');
  });
});
