/** The network sources PAPERBOY_SOURCES may name (the inbox is always a source besides them). */
export type SourceName = 'hf' | 'arxiv' | 'arxiv-rss';
export const SOURCE_NAMES: readonly SourceName[] = ['hf', 'arxiv', 'arxiv-rss'];
