import { paperLinks, paperUrl } from '../../src/digest/compose.ts';
import type { DigestData, DigestPaper, DigestSection } from '../../src/digest/digest-data.ts';
import { loadSamplePapers } from './sample-papers.ts';

/** Digest data built from the real sample papers, shaped as selection would hand it over. */

export const SAMPLE_TOPICS = [
  'Reasoning & Math',
  'Agents & Tool Use',
  'Efficient Inference',
  'Vision & Multimodal',
  'Scientific ML',
  'Optimization & Theory',
  'Code & Programs',
  'Data & Benchmarks',
];

// Dumps carry only author counts; half the papers get names so both bylines are exercised.
const NAMES = [
  'Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Claude Shannon', 'Emmy Noether',
  'John von Neumann', 'Katherine Johnson', 'Srinivasa Ramanujan', 'Barbara Liskov',
];

export function samplePapers(): DigestPaper[] {
  return loadSamplePapers().map((sample, index): DigestPaper => {
    const named = index % 2 === 0 && sample.authorCount !== null;
    // Dumps carry no ids or links: most papers get an arXiv-style id and every third one code
    // and a project page (as HF API papers have), so the size test sees links on every paper.
    const identified = { arxivId: index % 5 === 4 ? null : `2511.${String(10_000 + index * 7).padStart(5, '0')}`, title: sample.title };
    const links = index % 3 === 0 ? { github: `https://github.com/sample-lab/paper-${index}`, project: `https://sample-lab.github.io/paper-${index}/` } : {};
    return {
      id: `sample-${index}`,
      title: sample.title,
      url: paperUrl({ ...identified, links }),
      links: paperLinks({ ...identified, links }),
      abstract: sample.abstract,
      authors: named ? Array.from({ length: sample.authorCount ?? 0 }, (_, i) => NAMES[(index + i) % NAMES.length] ?? '') : [],
      authorCount: sample.authorCount,
      organization: sample.organization,
      publishedOn: sample.publishedOn,
      upvotes: index % 3 === 0 ? null : (index * 37) % 240,
      comments: sample.comments,
    };
  });
}

/** `papers` dealt round-robin over `topics`, each section reporting a few more left out. */
export function sampleDigest(papers: DigestPaper[], topics: readonly string[] = SAMPLE_TOPICS): DigestData {
  const sections = topics.map(
    (name, index): DigestSection => ({
      topic: { id: `topic-${index}`, name },
      papers: papers.filter((_, paperIndex) => paperIndex % topics.length === index),
      moreCount: index % 3,
    }),
  );
  return digestOf(sections.filter((section) => section.papers.length > 0));
}

export function digestOf(sections: DigestSection[], omittedCount = 0): DigestData {
  return {
    recipient: { email: 'ada@example.com', name: 'Ada' },
    frequency: 'daily',
    generatedAt: '2025-03-14T06:00:00.000Z',
    sections,
    paperCount: sections.reduce((sum, section) => sum + section.papers.length, 0),
    omittedCount,
    carriedCount: 0,
    links: {
      preferences: 'https://paperboy.example.com/preferences?token=tok_3f9a2c',
      unsubscribe: 'https://paperboy.example.com/unsubscribe?token=tok_3f9a2c',
      view: 'https://paperboy.example.com/d/ZGlnZXN0LjEuM2Y5YTJjZTQ1Yjk.eyJfn0Rk4c8rYq1uTz2wVb3nXm5pLs6oKd7jHa8gFe9',
      archive: 'https://paperboy.example.com/archive',
    },
  };
}
