-- Each reader's own morning: the IANA zone their digest is timed in (its canonical name) and the
-- hour of their morning (05–11). NULL zone: DIGEST_CRON in DIGEST_TZ, as for everyone before;
-- NULL hour: DIGEST_CRON's hour, read at send time. A pending sign-up request carries its own
-- zone and hour, applied when its link is confirmed like its other settings.
ALTER TABLE subscribers ADD COLUMN timezone TEXT;
ALTER TABLE subscribers ADD COLUMN delivery_hour INTEGER CHECK (delivery_hour BETWEEN 5 AND 11);
ALTER TABLE pending_signup_requests ADD COLUMN timezone TEXT;
ALTER TABLE pending_signup_requests ADD COLUMN delivery_hour INTEGER CHECK (delivery_hour BETWEEN 5 AND 11);
