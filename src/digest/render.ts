import { DEFAULT_LIST_NAME } from '../config/config.ts';
import type { DigestData } from './digest-data.ts';
import type { ConfirmationData, WelcomeData } from './notice-data.ts';
import { joinPieces, piecesOf, type Pieces } from './shared-blocks.ts';
import { compileHandlebars, compileMjml, type FillTemplate } from './template-compiler.ts';
import { confirmationText, digestText, welcomeText } from './text.ts';
import {
  confirmationView,
  digestView,
  welcomeView,
  type ConfirmationView,
  type DigestView,
  type MessageView,
  type WelcomeView,
} from './views.ts';

export interface RenderedMessage {
  /** Plain text without control characters: safe to put in a header as is. */
  subject: string;
  /** The inbox preview line; also hidden at the top of `html`. */
  preheader: string;
  html: string;
  text: string;
  /**
   * The same parts as pieces, each paper's block shared by reference with every other
   * digest of the run that shows it (src/digest/shared-blocks.ts): what the message builder
   * encodes, so a block's bytes are encoded once per run.
   */
  pieces?: { html: Pieces; text: Pieces };
}

/** Renders one message per call, synchronously; create one per process (or worker). */
export interface Renderer {
  renderDigest(data: DigestData): RenderedMessage;
  renderConfirmation(data: ConfirmationData): RenderedMessage;
  renderWelcome(data: WelcomeData): RenderedMessage;
}

export interface RendererOptions {
  /** Folder holding `digest.mjml`, `confirm.mjml`, `welcome.mjml` and their `partials/`. */
  templatesDir: string;
  /** PAPERBOY_LIST_NAME; the default name when not given. */
  listName?: string;
}

/** Compiles every template once, up front, so a broken template fails at start-up. */
export async function createRenderer(options: RendererOptions): Promise<Renderer> {
  const [digest, confirmation, welcome] = await Promise.all([
    compileTemplate<DigestView>(options.templatesDir, 'digest.mjml'),
    compileTemplate<ConfirmationView>(options.templatesDir, 'confirm.mjml'),
    compileTemplate<WelcomeView>(options.templatesDir, 'welcome.mjml'),
  ]);
  const listName = options.listName ?? DEFAULT_LIST_NAME;
  return {
    renderDigest: (data) => message(digestView(data, listName), digest, digestText),
    renderConfirmation: (data) => message(confirmationView(data, listName), confirmation, confirmationText),
    renderWelcome: (data) => message(welcomeView(data, listName), welcome, welcomeText),
  };
}

async function compileTemplate<View>(templatesDir: string, file: string): Promise<FillTemplate<View>> {
  return compileHandlebars<View>(await compileMjml(templatesDir, file), file);
}

function message<View extends MessageView>(
  view: View,
  fillHtml: FillTemplate<View>,
  text: (view: View) => string,
): RenderedMessage {
  const pieces = { html: piecesOf(() => fillHtml(view)), text: piecesOf(() => text(view)) };
  return { subject: view.subject, preheader: view.preheader, html: joinPieces(pieces.html), text: joinPieces(pieces.text), pieces };
}
