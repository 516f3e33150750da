/**
 * A paper's block is the same text in every digest that shows it: rendered once per run, and
 * kept as one object so that whoever turns a message into bytes can also encode it once
 * (src/delivery/mail-options.ts). A rendered part is then a list of pieces: the reader's own
 * text, and the shared blocks it holds by reference.
 */
export interface SharedBlock {
  readonly text: string;
}

export type Pieces = readonly (string | SharedBlock)[];

// NUL is stripped from everything that enters (listings, names: src/text-safety.ts), and a
// template cannot hold one, so a marker can only come from `placeShared`.
const MARK = '\u0000';
const MARKER = /\u0000(\d+)\u0000/g;
let placed: SharedBlock[] | null = null;

/** The block's text; while `piecesOf` renders, a marker that it turns back into the block. */
export function placeShared(block: SharedBlock): string {
  if (placed === null) return block.text;
  return `${MARK}${placed.push(block) - 1}${MARK}`;
}

/** What `render` returns, as pieces: the blocks it placed are referenced, not copied. */
export function piecesOf(render: () => string): Pieces {
  const outer = placed;
  const blocks: SharedBlock[] = (placed = []);
  let text: string;
  try {
    text = render();
  } finally {
    placed = outer;
  }
  const pieces: (string | SharedBlock)[] = [];
  let from = 0;
  for (const marker of text.matchAll(MARKER)) {
    const block = blocks[Number(marker[1])];
    if (block === undefined) continue;
    pieces.push(text.slice(from, marker.index), block);
    from = marker.index + marker[0].length;
  }
  pieces.push(text.slice(from));
  return pieces;
}

/** The text the pieces stand for. */
export function joinPieces(pieces: Pieces): string {
  let text = '';
  for (const piece of pieces) text += typeof piece === 'string' ? piece : piece.text;
  return text;
}
