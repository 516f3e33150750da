import type { DigestEntry } from '../model/digest.ts';

/**
 * A digest's record packed into two columns of its `digests` row, shared by both adapters:
 * `topics`, the JSON array of the topic ids it shows (sorted, each once), and `entries`, one
 * fixed-size record per matched paper in digest order — paper id (u32), index into `topics`
 * (u8), flags (u8: 1 fitted, 2 carried) and score (f64), big-endian. A digest records about
 * a hundred matches, most of which never fitted: one row each cost ~35 bytes plus the index;
 * packed, 14. The fixed layout is what PostgreSQL builds from `int4send`/`float8send` when it
 * migrates old rows (migration 5), byte for byte what `encodeEntry` writes.
 */

const ENTRY_BYTES = 14;
const FITTED = 1;
const CARRIED = 2;

/** One packed entry: what SQLite's migration 11 aggregates old rows with. */
export function encodeEntry(paperId: number, topicIndex: number, flags: number, score: number): Buffer {
  const bytes = Buffer.alloc(ENTRY_BYTES);
  bytes.writeUInt32BE(paperId, 0);
  bytes.writeUInt8(topicIndex, 4);
  bytes.writeUInt8(flags, 5);
  bytes.writeDoubleBE(score, 6);
  return bytes;
}

export function encodeDigestEntries(entries: readonly DigestEntry[]): { topics: string; entries: Buffer } {
  const topics = [...new Set(entries.map((entry) => entry.topicId))].sort();
  if (topics.length > 256) throw new Error(`a digest shows ${topics.length} topics; its record holds at most 256`);
  const index = new Map(topics.map((topic, position) => [topic, position]));
  const packed = Buffer.alloc(entries.length * ENTRY_BYTES);
  entries.forEach((entry, position) => {
    encodeEntry(entry.paperId, index.get(entry.topicId)!, (entry.fitted ? FITTED : 0) | (entry.carried ? CARRIED : 0), entry.score).copy(packed, position * ENTRY_BYTES);
  });
  return { topics: JSON.stringify(topics), entries: packed };
}

export function decodeDigestEntries(topicsJson: string, packed: Uint8Array): DigestEntry[] {
  const topics = JSON.parse(topicsJson) as string[];
  const bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const entries: DigestEntry[] = [];
  for (let offset = 0; offset + ENTRY_BYTES <= bytes.length; offset += ENTRY_BYTES) {
    const flags = bytes.readUInt8(offset + 5);
    entries.push({
      paperId: bytes.readUInt32BE(offset),
      topicId: topics[bytes.readUInt8(offset + 4)]!,
      fitted: (flags & FITTED) !== 0,
      carried: (flags & CARRIED) !== 0,
      score: bytes.readDoubleBE(offset + 6),
    });
  }
  return entries;
}

/** The (topic, paper) pairs that went out, each once: what the topic archive records of a digest. */
export function fittedPairs(entries: readonly DigestEntry[]): { topicIds: string[]; paperIds: number[] } {
  const seen = new Set<string>();
  const topicIds: string[] = [];
  const paperIds: number[] = [];
  for (const entry of entries) {
    const pair = `${entry.topicId}\u0000${entry.paperId}`;
    if (!entry.fitted || seen.has(pair)) continue;
    seen.add(pair);
    topicIds.push(entry.topicId);
    paperIds.push(entry.paperId);
  }
  return { topicIds, paperIds };
}
