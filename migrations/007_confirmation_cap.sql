-- The per-address cap on confirmation emails is counted on the subscriber's row, which a sign-up
-- writes anyway, instead of through an index over every email ever queued: one index fewer to
-- update per sign-up.
ALTER TABLE subscribers ADD COLUMN confirm_window_start TEXT;
ALTER TABLE subscribers ADD COLUMN confirm_window_count INTEGER NOT NULL DEFAULT 0;
DROP INDEX mail_queue_recipient;
