-- One row per arXiv paper, refreshed on every fetch: upvotes keep rising through the day, and a
-- paper can be withdrawn after it was first stored. Authors and keywords are JSON arrays of
-- strings. Paper page and arXiv links are derived from the id, so they are not stored.
CREATE TABLE papers (
  id            TEXT PRIMARY KEY,
  title         TEXT NOT NULL,
  abstract      TEXT NOT NULL,
  authors       TEXT NOT NULL DEFAULT '[]',
  published_at  TEXT NOT NULL,
  upvotes       INTEGER NOT NULL DEFAULT 0,
  num_comments  INTEGER NOT NULL DEFAULT 0,
  ai_summary    TEXT,
  keywords      TEXT NOT NULL DEFAULT '[]',
  github_repo   TEXT,
  project_page  TEXT,
  withdrawn     INTEGER NOT NULL DEFAULT 0 CHECK (withdrawn IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);

-- The day(s) a paper was featured on Daily Papers (not its arXiv date). Keyed by day first: the
-- digest reads one day at a time.
CREATE TABLE paper_features (
  featured_date  TEXT NOT NULL,
  paper_id       TEXT NOT NULL REFERENCES papers (id),
  PRIMARY KEY (featured_date, paper_id)
) WITHOUT ROWID;
