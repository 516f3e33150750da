/**
 * Escape by default: every value interpolated into an `html` template is escaped unless it
 * is itself the output of `html`. Pages never concatenate strings into markup any other way,
 * so nothing a visitor typed (or a topic file holds) can become markup.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Markup built by `html`. Not constructible elsewhere, so its contents were escaped on the way in. */
class Markup {
  constructor(readonly text: string) {}

  toString(): string {
    return this.text;
  }
}

export type SafeHtml = Markup;

/** `null`, `undefined` and `false` render as nothing, so `${cond && html`…`}` reads naturally. */
type Interpolation = SafeHtml | string | number | null | undefined | false | readonly Interpolation[];

export function html(strings: TemplateStringsArray, ...values: Interpolation[]): SafeHtml {
  let text = strings[0] ?? '';
  values.forEach((value, index) => {
    text += render(value) + (strings[index + 1] ?? '');
  });
  return new Markup(text);
}

function render(value: Interpolation): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return String(value).replace(/[&<>"']/g, (character) => ENTITIES[character]!);
}
