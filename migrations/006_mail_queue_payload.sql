-- Queue what a transactional email is about (its kind and a few values), not its rendering:
-- ~12 KB less written per sign-up, and the email is rendered by the templates in force when it
-- goes out. Rows queued before this change have no payload left and fail visibly when sent.
ALTER TABLE mail_queue ADD COLUMN payload TEXT NOT NULL DEFAULT '{}';
ALTER TABLE mail_queue DROP COLUMN subject;
ALTER TABLE mail_queue DROP COLUMN html;
ALTER TABLE mail_queue DROP COLUMN text;
ALTER TABLE mail_queue DROP COLUMN headers;
