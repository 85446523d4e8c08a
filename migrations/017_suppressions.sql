-- Addresses that must not be added back by an import: hard bounces, complaints, soft-bounce
-- suppressions. Keyed by HMAC(SECRET, lowercased address), so the list outlives
-- `subscribers remove` without holding a readable address. Only a new double opt-in through the
-- form takes an address off it.
CREATE TABLE suppressions (
  address_hash  TEXT PRIMARY KEY,
  reason        TEXT NOT NULL,
  created_at    TEXT NOT NULL
) WITHOUT ROWID;
