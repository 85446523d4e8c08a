-- The ranking of each day as it was frozen for sending, so "view in browser", the archive and the
-- feed show what subscribers got, even after upvotes move on. The first freeze of a day wins.
CREATE TABLE digests (
  date        TEXT PRIMARY KEY CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
  -- The whole ranking as a JSON array of Paper, best first; each variant cuts it to its size.
  papers      TEXT NOT NULL CHECK (json_valid(papers) AND json_type(papers) = 'array'),
  created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
