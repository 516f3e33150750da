import type { Frequency, SubscriberStatus } from '../model/subscriber.ts';
import { DEFAULT_WEEKDAY, WEEKDAYS } from '../subscribers/subscriber.ts';
import type { Topic } from '../topics/taxonomy.ts';
import type { Field, FieldErrors, FormValues } from './form.ts';
import { html, type SafeHtml } from './html.ts';

/**
 * Every page the subscription site shows. Plain server-rendered HTML with no script and no
 * external asset (the Content-Security-Policy allows neither); one inline style sheet that
 * follows the digest mails' look, light and dark.
 */

export type TopicChoice = Pick<Topic, 'id' | 'name' | 'description'>;

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

// Written as an html template with nothing interpolated: its text is ours and stays as is.
const STYLE = html`
:root {
  color-scheme: light dark;
  --page: #eef0f4; --card: #ffffff; --text: #374151; --strong: #111827; --muted: #4b5563;
  --accent: #1d4ed8; --on-accent: #ffffff; --line: #d1d5db; --soft: #eff4ff;
  --error: #b91c1c; --error-soft: #fef2f2; --ok: #166534; --ok-soft: #f0fdf4; --focus: #f59e0b;
}
@media (prefers-color-scheme: dark) {
  :root {
    --page: #0f1115; --card: #181b22; --text: #d1d5db; --strong: #f3f4f6; --muted: #9ca3af;
    --accent: #8ab4f8; --on-accent: #0f1115; --line: #3a404c; --soft: #1c2433;
    --error: #fca5a5; --error-soft: #2a1517; --ok: #86efac; --ok-soft: #12231a;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; background: var(--page); color: var(--text);
  font: 16px/1.6 system-ui, -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 46rem; margin: 2.5rem auto 0; padding: 0 1rem; }
.card { background: var(--card); border-top: 4px solid var(--accent); border-radius: 0 0 10px 10px;
  padding: 2rem 2.25rem 2.25rem; box-shadow: 0 1px 2px rgb(0 0 0 / 6%), 0 4px 16px rgb(0 0 0 / 4%); }
.brand { margin: 0; font-size: .8125rem; font-weight: 700; letter-spacing: .12em; text-transform: uppercase; color: var(--accent); }
.brand a { color: inherit; text-decoration: none; }
h1 { margin: .75rem 0 .25rem; font-size: 1.75rem; line-height: 1.25; color: var(--strong); }
h2 { margin: 2rem 0 .5rem; font-size: 1.125rem; color: var(--strong); }
p { margin: 0 0 1rem; }
.lead { color: var(--muted); margin-bottom: 1.75rem; }
a { color: var(--accent); }
strong { color: var(--strong); }
.field { margin: 0 0 1.5rem; }
label, legend { display: block; font-weight: 600; color: var(--strong); }
.hint { display: block; margin: .125rem 0 .5rem; font-size: .875rem; color: var(--muted); font-weight: 400; }
input[type=email], input[type=text], select {
  display: block; width: 100%; max-width: 28rem; margin-top: .375rem; padding: .625rem .75rem;
  font: inherit; color: var(--text); background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
select { max-width: 14rem; }
fieldset { margin: 0 0 1.5rem; padding: 0; border: 0; min-width: 0; }
legend { padding: 0; margin-bottom: .25rem; }
.topics { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr)); gap: .5rem; margin-top: .5rem; }
.options { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: .5rem; }
.options .choice { align-items: center; padding-right: 1rem; }
.options .choice input { margin: 0; }
.choice { display: flex; gap: .625rem; align-items: flex-start; padding: .625rem .75rem; border: 1px solid var(--line); border-radius: 6px; }
.choice:has(input:checked) { border-color: var(--accent); background: var(--soft); }
.choice input { flex: none; width: 1.125rem; height: 1.125rem; margin: .25rem 0 0; accent-color: var(--accent); }
.choice label { font-weight: 600; }
.optional { font-weight: 400; color: var(--muted); }
.choice .hint { margin: 0; line-height: 1.45; }
button { font: inherit; font-weight: 600; color: var(--on-accent); background: var(--accent); border: 2px solid var(--accent);
  border-radius: 6px; padding: .75rem 1.5rem; cursor: pointer; }
button.secondary { color: var(--accent); background: transparent; }
button:hover { filter: brightness(1.1); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.error-text { display: block; margin: .25rem 0 .25rem; color: var(--error); font-weight: 600; font-size: .9375rem; }
input[aria-invalid=true], select[aria-invalid=true] { border: 2px solid var(--error); }
.invalid { padding-left: .875rem; border-left: 4px solid var(--error); }
.notice { margin: 0 0 1.5rem; padding: 1rem 1.25rem; border-radius: 6px; border: 2px solid var(--accent); background: var(--soft); }
.notice.problem { border-color: var(--error); background: var(--error-soft); }
.notice.saved { border-color: var(--ok); background: var(--ok-soft); }
.notice h2 { margin: 0 0 .375rem; font-size: 1rem; }
.notice ul { margin: 0; padding-left: 1.25rem; }
.notice p:last-child { margin: 0; }
.problem a { color: var(--error); font-weight: 600; }
.small { font-size: .875rem; color: var(--muted); }
.list { margin: 0 0 1.25rem; padding-left: 1.25rem; }
hr { margin: 2rem 0 1.5rem; border: 0; border-top: 1px solid var(--line); }
.paper { padding: 1.25rem 0; border-bottom: 1px solid var(--line); }
.paper h3 { margin: 0 0 .375rem; font-size: 1.125rem; line-height: 1.35; }
.paper h3 a { color: var(--strong); text-decoration: none; }
.paper p { margin: 0 0 .5rem; }
.paper .links { margin: 0; font-weight: 600; }
.tag { display: inline-block; margin-left: .5rem; padding: 0 .375rem; border: 1px solid var(--line); border-radius: 4px;
  font-size: .75rem; font-weight: 600; color: var(--muted); vertical-align: middle; }
footer { margin: 1.25rem auto 2.5rem; padding: 0 1rem; text-align: center; font-size: .8125rem; color: var(--muted); }
@media (max-width: 32rem) {
  main { margin-top: 0; padding: 0; }
  .card { padding: 1.5rem 1.25rem 1.75rem; border-radius: 0; }
  h1 { font-size: 1.5rem; }
  .topics { grid-template-columns: 1fr; }
  button { width: 100%; }
}
`;

/** Every page names the list (PAPERBOY_LIST_NAME) in its title, its brand line and its footer. */
export function layout(listName: string, title: string, content: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${title} · ${listName}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<div class="card">
<p class="brand"><a href="/">${listName}</a></p>
${content}
</div>
</main>
<footer>${listName} mails new research papers on the topics you pick.</footer>
</body>
</html>
`.toString();
}

/** Where the error summary sends the keyboard for each field. */
function fieldAnchor(field: Field, topics: readonly TopicChoice[]): string {
  if (field === 'topics') return `topic-${topics[0]?.id ?? ''}`;
  if (field === 'frequency') return 'frequency-daily';
  return field;
}

const FIELD_ORDER: Field[] = ['email', 'name', 'topics', 'frequency', 'weekday'];

function errorSummary(errors: FieldErrors, topics: readonly TopicChoice[]): SafeHtml | false {
  const listed = FIELD_ORDER.filter((field) => errors[field]);
  return (
    listed.length > 0 &&
    html`<div class="notice problem" role="alert" aria-labelledby="problem-title">
<h2 id="problem-title">Please check the form</h2>
<ul>${listed.map((field) => html`<li><a href="#${fieldAnchor(field, topics)}">${errors[field]}</a></li>`)}</ul>
</div>`
  );
}

function errorText(field: Field, errors: FieldErrors): SafeHtml | false {
  const message = errors[field];
  return message !== undefined && html`<span class="error-text" id="${field}-error">${message}</span>`;
}

/** Marks a control invalid and ties its error message to it, for screen readers. */
function invalid(field: Field, errors: FieldErrors): SafeHtml | false {
  return errors[field] !== undefined && html` aria-invalid="true" aria-describedby="${field}-error"`;
}

function nameField(values: FormValues, errors: FieldErrors): SafeHtml {
  return html`<div class="field${errors.name ? ' invalid' : ''}">
<label for="name">Name <span class="optional">(optional)</span></label>
${errorText('name', errors)}
<input type="text" id="name" name="name" autocomplete="name" value="${values.name}"${invalid('name', errors)}>
</div>`;
}

/** Topics, frequency and weekday: what both the sign-up and the preferences form ask. */
function choiceFields(values: FormValues, errors: FieldErrors, topics: readonly TopicChoice[]): SafeHtml {
  return html`<fieldset class="${errors.topics ? 'invalid' : ''}" aria-describedby="topics-hint${errors.topics ? ' topics-error' : ''}">
<legend>Topics</legend>
<span class="hint" id="topics-hint">Pick at least one. Tick them all to get every topic, including any added later.</span>
${errorText('topics', errors)}
<div class="topics">
${topics.map(
  (topic) => html`<div class="choice">
<input type="checkbox" id="topic-${topic.id}" name="topics" value="${topic.id}" aria-describedby="topic-${topic.id}-hint"${values.topics.includes(topic.id) ? html` checked` : ''}>
<div><label for="topic-${topic.id}">${topic.name}</label><span class="hint" id="topic-${topic.id}-hint">${topic.description}</span></div>
</div>
`,
)}</div>
</fieldset>
<fieldset class="${errors.frequency ? 'invalid' : ''}"${errors.frequency ? html` aria-describedby="frequency-error"` : ''}>
<legend>How often</legend>
${errorText('frequency', errors)}
<div class="options">
${(['daily', 'weekly'] as const).map(
  (frequency) => html`<div class="choice">
<input type="radio" id="frequency-${frequency}" name="frequency" value="${frequency}"${values.frequency === frequency ? html` checked` : ''}>
<label for="frequency-${frequency}">${frequency === 'daily' ? 'Daily' : 'Weekly'}</label>
</div>
`,
)}</div>
</fieldset>
<div class="field${errors.weekday ? ' invalid' : ''}">
<label for="weekday">Day for weekly digests</label>
${errorText('weekday', errors)}
<select id="weekday" name="weekday"${invalid('weekday', errors)}>
${WEEKDAYS.map((day, index) => html`<option value="${day}"${values.weekday === day ? html` selected` : ''}>${WEEKDAY_NAMES[index]}</option>`)}
</select>
</div>`;
}

export function subscribePage(listName: string, values: FormValues, errors: FieldErrors, topics: readonly TopicChoice[], options: { linkError?: string } = {}): string {
  return layout(
    listName,
    Object.keys(errors).length > 0 ? 'Please check the form' : 'Subscribe',
    html`<h1>New research papers, by email</h1>
<p class="lead">${listName} sends you the new papers from Hugging Face Daily Papers on the topics you pick, daily or weekly. You confirm your address first; you can change your choices or unsubscribe from any digest.</p>
${errorSummary(errors, topics)}
<form method="post" action="/subscribe" novalidate>
<div class="field${errors.email ? ' invalid' : ''}">
<label for="email">Email address</label>
${errorText('email', errors)}
<input type="email" id="email" name="email" autocomplete="email" spellcheck="false" required value="${values.email}"${invalid('email', errors)}>
</div>
${nameField(values, errors)}
${choiceFields(values, errors, topics)}
<button type="submit">Subscribe</button>
</form>
<hr>
<h2 id="lost-links">Already subscribed?</h2>
<p>Lost the links to change your choices or unsubscribe? We will email them to you again.</p>
<form method="post" action="/preferences/link" novalidate aria-labelledby="lost-links">
<div class="field${options.linkError ? ' invalid' : ''}">
<label for="link-email">The address your digest comes to</label>
${options.linkError ? html`<span class="error-text" id="link-email-error">${options.linkError}</span>` : ''}
<input type="email" id="link-email" name="email" autocomplete="email" spellcheck="false" required${options.linkError ? html` aria-invalid="true" aria-describedby="link-email-error"` : ''}>
</div>
<button type="submit" class="secondary">Email me my preferences link</button>
</form>`,
  );
}

export function linkSentPage(listName: string): string {
  return layout(
    listName,
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p class="lead">If this address gets our digest, we have sent it a message with the links to your preferences and to unsubscribe.</p>
<p>Nothing there after a few minutes? Look in your spam folder, or <a href="/">sign up</a>.</p>`,
  );
}

export function checkInboxPage(listName: string, pendingTtlHours: number): string {
  return layout(
    listName,
    'Check your inbox',
    html`<h1>Check your inbox</h1>
<p class="lead">One more step: confirm your address.</p>
<p>We have sent a message with a confirmation link to the address you gave. Open it within ${pendingTtlHours} hours to start your digest.</p>
<p>Nothing there after a few minutes? Look in your spam folder, or <a href="/">sign up again</a>. If you already subscribe, there is nothing more to do: your digest keeps coming as before.</p>`,
  );
}

export interface Schedule {
  /** Topic names, or null for every topic. */
  topics: string[] | null;
  frequency: Frequency;
  weekday: number | null;
}

function scheduleText(schedule: Schedule): string {
  return schedule.frequency === 'daily' ? 'every day there are new papers' : `every ${WEEKDAY_NAMES[schedule.weekday ?? DEFAULT_WEEKDAY]}`;
}

export function welcomePage(listName: string, email: string, schedule: Schedule, preferencesUrl: string): string {
  const what = html`You will get a <strong>${schedule.frequency} digest</strong>, ${scheduleText(schedule)}, with the new papers`;
  return layout(
    listName,
    'You are subscribed',
    html`<h1>You are subscribed</h1>
<p class="lead">Welcome to ${listName}. Your address <strong>${email}</strong> is confirmed.</p>
${
  schedule.topics === null
    ? html`<p>${what} on <strong>every topic</strong>, including any added later.</p>`
    : html`<p>${what} on these topics:</p>
<ul class="list">${schedule.topics.map((name) => html`<li>${name}</li>`)}</ul>`
}
<p>Every digest has a link to change these choices or to unsubscribe. You can also <a href="${preferencesUrl}">change your preferences now</a>.</p>`,
  );
}

export interface PreferencesView {
  token: string;
  /** The page's unsubscribe button posts this one: each token serves one purpose. */
  unsubscribeToken: string;
  email: string;
  status: SubscriberStatus;
  values: FormValues;
  errors: FieldErrors;
  saved: boolean;
  topics: readonly TopicChoice[];
}

const STATUS_NOTES: Partial<Record<SubscriberStatus, SafeHtml>> = {
  pending: html`<p>This address is not confirmed yet: open the confirmation link we sent you to start your digest.</p>`,
  unsubscribed: html`<p>You are unsubscribed, so these choices are kept but no digest is sent. To get digests again, <a href="/">sign up again</a>.</p>`,
  bounced: html`<p>Mail to this address bounced, so no digest is sent to it.</p>`,
};

export function preferencesPage(listName: string, view: PreferencesView): string {
  const note = STATUS_NOTES[view.status];
  return layout(
    listName,
    view.saved ? 'Preferences saved' : 'Your preferences',
    html`<h1>Your preferences</h1>
<p class="lead">Digests for <strong>${view.email}</strong>.</p>
${view.saved && html`<div class="notice saved" role="status"><p><strong>Saved.</strong> Your next digest follows these choices.</p></div>`}
${note && html`<div class="notice">${note}</div>`}
${errorSummary(view.errors, view.topics)}
<form method="post" action="/preferences" novalidate>
<input type="hidden" name="token" value="${view.token}">
${nameField(view.values, view.errors)}
${choiceFields(view.values, view.errors, view.topics)}
<button type="submit">Save preferences</button>
</form>
<hr>
<h2>Unsubscribe</h2>
<p>Stop all digests to this address.</p>
<form method="post" action="/unsubscribe">
<input type="hidden" name="token" value="${view.unsubscribeToken}">
<button type="submit" class="secondary">Unsubscribe</button>
</form>`,
  );
}

export function confirmPromptPage(listName: string, token: string, email: string): string {
  return layout(
    listName,
    'Confirm your subscription',
    html`<h1>Confirm your subscription</h1>
<p class="lead">Start sending ${listName} digests to <strong>${email}</strong>?</p>
<form method="post" action="/confirm">
<input type="hidden" name="token" value="${token}">
<button type="submit">Confirm my subscription</button>
</form>
<p>If you did not sign up, close this page: nothing is sent unless you confirm.</p>`,
  );
}

export function unsubscribePromptPage(listName: string, token: string, email: string): string {
  return layout(
    listName,
    'Unsubscribe',
    html`<h1>Unsubscribe?</h1>
<p class="lead">Stop sending ${listName} digests to <strong>${email}</strong>.</p>
<form method="post" action="/unsubscribe">
<input type="hidden" name="token" value="${token}">
<button type="submit">Unsubscribe</button>
</form>`,
  );
}

export function unsubscribedPage(listName: string, email: string | null): string {
  return layout(
    listName,
    'You are unsubscribed',
    html`<h1>You are unsubscribed</h1>
<p class="lead">${email === null ? html`This address gets no more digests.` : html`<strong>${email}</strong> gets no more digests.`}</p>
<p>Changed your mind? <a href="/">Sign up again</a>: we will ask you to confirm your address once more.</p>`,
  );
}

export interface Message {
  title: string;
  text: string;
  /** A way on, usually back to the sign-up form. */
  link?: { href: string; text: string };
}

export function messagePage(listName: string, message: Message): string {
  return layout(
    listName,
    message.title,
    html`<h1>${message.title}</h1>
<p class="lead">${message.text}</p>
${message.link && html`<p><a href="${message.link.href}">${message.link.text}</a></p>`}`,
  );
}
