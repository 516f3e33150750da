import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { PaperboyError } from '../errors.ts';
import { formatDate, plural } from './format.ts';
import { placeShared, type SharedBlock } from './shared-blocks.ts';

/**
 * Templates are MJML with Handlebars expressions in text and attribute values. MJML is the
 * slow step (tens of milliseconds a document), so it runs once per template; what comes out
 * is HTML that Handlebars fills per recipient in tens of microseconds.
 */

export type FillTemplate<View> = (view: View) => string;

// A private environment: helpers registered here cannot leak into or be replaced through
// the global Handlebars instance other code may share.
const handlebars = Handlebars.create();
handlebars.registerHelper('date', (iso: string, style: unknown) =>
  formatDate(iso, style === 'long' ? 'long' : 'short'),
);
handlebars.registerHelper('plural', (count: number, singular: string, pluralForm: unknown) =>
  plural(count, singular, typeof pluralForm === 'string' ? pluralForm : undefined),
);

/**
 * `{{#sameForEveryReader}}…{{/sameForEveryReader}}` around a block that reads only its own context (a paper's
 * view, shared by every digest that shows the paper): its output is rendered once per
 * context object and reused, so a run renders each paper's markup once, not once per reader,
 * and the message is built from a few large strings instead of thousands of small ones. The
 * rendered block is a shared block (src/digest/shared-blocks.ts): one object per paper, so its
 * bytes are encoded once per run as well.
 * A block that reads `@root`, a parent or `@index` (anything per reader) must not use it, and
 * one context object is rendered by one template's blocks (the block is named by its number).
 */
const renderedBlocks = new WeakMap<object, Map<number, SharedBlock>>();
handlebars.registerHelper('sameForEveryReader', function renderOnce(this: unknown, options: Handlebars.HelperOptions) {
  if (typeof this !== 'object' || this === null) return options.fn(this);
  let byBlock = renderedBlocks.get(this);
  if (!byBlock) renderedBlocks.set(this, (byBlock = new Map()));
  // options.fn is a new wrapper on every call inside an #each; the program number it wraps
  // names the block (blocks of one template rendering the same object differ by it).
  const block = (options.fn as unknown as { program: number }).program;
  let shared = byBlock.get(block);
  if (shared === undefined) {
    // Flat now, once: a cached rope would be flattened again by every message that holds it.
    shared = { text: flatten(options.fn(this)) };
    byBlock.set(block, shared);
  }
  return placeShared(shared);
});

function flatten(text: string): string {
  // V8 flattens a concatenated string in place when a character is read from it.
  text.charCodeAt(0);
  return text;
}

// strict: a misspelt field throws instead of rendering blank. knownHelpersOnly: data can
// never name a helper, and the compiled code skips the helper-or-field lookup.
const HANDLEBARS_OPTIONS = {
  strict: true,
  knownHelpers: { date: true, plural: true, sameForEveryReader: true },
  knownHelpersOnly: true,
  preventIndent: true,
} as const;

/** MJML file → responsive HTML that still holds its Handlebars expressions. */
export async function compileMjml(templatesDir: string, file: string): Promise<string> {
  const path = join(templatesDir, file);
  const source = await readFile(path, 'utf8').catch((error: unknown) => {
    throw new PaperboyError('TEMPLATE_INVALID', `${file}: ${firstLine(error)}`, { cause: error });
  });
  return mjmlToHtml(source, path, file);
}

/** MJML source → HTML; `path` anchors `mj-include`, `file` names the template in errors. */
export async function mjmlToHtml(source: string, path: string, file: string): Promise<string> {
  let html: string;
  try {
    // Loaded here, not at the top: MJML is most of a cold start, and only rendering needs it.
    const { default: mjml2html } = await import('mjml');
    // strict: any validation error, or an include that cannot be read, throws.
    ({ html } = await mjml2html(source, {
      validationLevel: 'strict',
      filePath: path,
      ignoreIncludes: false,
      keepComments: false,
      // No web fonts: the system stack is used, and the default list would add a <link>.
      fonts: {},
    }));
  } catch (error) {
    throw new PaperboyError('TEMPLATE_INVALID', `${file}: ${firstLine(error)}`, { cause: error });
  }
  return compact(html);
}

/** HTML with Handlebars expressions → a fill function; template errors surface now, not per recipient. */
export function compileHandlebars<View>(html: string, file: string): FillTemplate<View> {
  try {
    // compile() is lazy; precompile runs the same parser and compiler eagerly.
    handlebars.precompile(html, { ...HANDLEBARS_OPTIONS });
  } catch (error) {
    throw new PaperboyError('TEMPLATE_INVALID', `${file}: ${firstLine(error)}`, { cause: error });
  }
  return handlebars.compile<View>(html, HANDLEBARS_OPTIONS);
}

/**
 * Whitespace a renderer ignores, removed once here rather than shipped in every message:
 * indentation, and the spaces juice writes around `:` and `;` in inline styles that the
 * per-paper markup repeats fifty times a digest.
 */
function compact(html: string): string {
  return html
    .replace(/\s*\n\s*/g, '\n')
    .replace(/ style="([^"]*)"/g, (_, css: string) => ` style="${css.replace(/\s*([:;])\s*/g, '$1').replace(/;$/, '')}"`);
}

/** MJML's validation error lists its findings in `errors`; anything else has a message. */
function firstLine(error: unknown): string {
  const findings = error instanceof Error && 'errors' in error && Array.isArray(error.errors) ? error.errors : [];
  const finding: unknown = findings[0];
  if (typeof finding === 'object' && finding !== null && 'formattedMessage' in finding) return String(finding.formattedMessage);
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n').find((line) => line.trim() !== '')?.trim() ?? message;
}
