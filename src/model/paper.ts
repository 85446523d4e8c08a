/** A paper as the rest of the product sees it, whatever the source's format. */
export interface Paper {
  /** arXiv id, e.g. "2611.07315". */
  id: string;
  title: string;
  abstract: string;
  authors: string[];
  /** When it appeared on arXiv (ISO 8601). */
  publishedAt: string;
  /** The day it was featured on Daily Papers (YYYY-MM-DD). */
  featuredDate: string;
  upvotes: number;
  numComments: number;
  aiSummary: string | null;
  keywords: string[];
  githubRepo: string | null;
  projectPage: string | null;
  withdrawn: boolean;
}

export const paperPageUrl = (id: string) => `https://huggingface.co/papers/${encodeURIComponent(id)}`;
export const arxivUrl = (id: string) => `https://arxiv.org/abs/${encodeURIComponent(id)}`;
