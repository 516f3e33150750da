/**
 * What keeping queued bodies on disk costs, per message: the spool as `paperboy run` writes
 * it (a page of bodies as one segment file, src/store/sqlite/spool.ts), read back a claimed
 * batch at a time and deleted, against one file per message (the spool before segments),
 * measured in the same run over the same bytes. Rounds alternate the two, in a folder that
 * has seen the earlier rounds' files come and go, as a long-lived spool folder has.
 *
 *   npx tsx scripts/bench-spool.ts [--messages 10000] [--page 100] [--batch 40] [--bytes 102600] [--rounds 3]
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBodySpool, spoolFolderOf } from '../src/store/sqlite/spool.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '10000' },
    page: { type: 'string', default: '100' },
    batch: { type: 'string', default: '40' },
    bytes: { type: 'string', default: '102600' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const [MESSAGES, PAGE, BATCH, BYTES, ROUNDS] = [values.messages, values.page, values.batch, values.bytes, values.rounds].map(Number) as [number, number, number, number, number];
// Beside the project's data by default: the same file system a database in data/ uses.
const root = mkdtempSync(join(values.dir ?? tmpdir(), 'paperboy-bench-spool-'));
const spool = openBodySpool(join(root, 'bench.db'));
const folder = spoolFolderOf(join(root, 'bench.db'));
const bodies = Array.from({ length: PAGE }, (_, index) => Buffer.alloc(BYTES, 65 + (index % 26)));

interface Figures {
  write: number;
  read: number;
  remove: number;
}

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

function segments(): Figures {
  let at = process.hrtime.bigint();
  const written = [];
  for (let queued = 0; queued < MESSAGES; queued += PAGE) {
    const segment = spool.write(bodies);
    written.push(...segment.offsets.map((offset, index) => ({ file: segment.file, offset, bytes: bodies[index]!.length })));
  }
  const write = ms(at);
  at = process.hrtime.bigint();
  for (let claimed = 0; claimed < written.length; claimed += BATCH) spool.readMany(written.slice(claimed, claimed + BATCH));
  const read = ms(at);
  at = process.hrtime.bigint();
  spool.remove([...new Set(written.map((body) => body.file))]);
  return { write, read, remove: ms(at) };
}

/** One file per message, written, read and deleted as the spool did before segments. */
function filePerMessage(): Figures {
  let at = process.hrtime.bigint();
  const names: string[] = [];
  for (let queued = 0; queued < MESSAGES; queued++) {
    const name = join(folder, `${randomUUID()}.eml`);
    const fd = openSync(name, 'wx');
    writeSync(fd, bodies[queued % PAGE]!);
    closeSync(fd);
    names.push(name);
  }
  const write = ms(at);
  at = process.hrtime.bigint();
  for (const name of names) readFileSync(name);
  const read = ms(at);
  at = process.hrtime.bigint();
  for (const name of names) unlinkSync(name);
  return { write, read, remove: ms(at) };
}

const perMessage = (figure: number) => `${((figure * 1000) / MESSAGES).toFixed(1).padStart(6)} µs`;
const line = (label: string, figures: Figures) =>
  `  ${label.padEnd(18)} write ${perMessage(figures.write)}  read ${perMessage(figures.read)}  delete ${perMessage(figures.remove)}  total ${perMessage(figures.write + figures.read + figures.remove)}`;

console.log(`Spool of queued bodies: ${MESSAGES.toLocaleString('en-US')} messages of ${BYTES.toLocaleString('en-US')} bytes, pages of ${PAGE}, claimed ${BATCH} at a time, in ${root}`);
console.log(`  load ${loadavg().map((load) => load.toFixed(2)).join(' ')} before; figures per message`);
const totals = { segments: [] as number[], files: [] as number[] };
try {
  for (let round = 1; round <= ROUNDS; round++) {
    console.log(`round ${round}`);
    const files = filePerMessage();
    console.log(line('file per message', files));
    const segmented = segments();
    console.log(line('segments', segmented));
    totals.files.push(files.write + files.read + files.remove);
    totals.segments.push(segmented.write + segmented.read + segmented.remove);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
const median = (figures: number[]) => [...figures].sort((a, b) => a - b)[Math.floor(figures.length / 2)]!;
console.log(`median total per message: segments ${perMessage(median(totals.segments))} against ${perMessage(median(totals.files))} for a file per message: ${(median(totals.files) / median(totals.segments)).toFixed(1)}× less time`);
