-- Tokens of signed webhook calls already used (Mailgun's: it signs a timestamp and a token, not
-- the event, so a seen signature could carry any event). Each is kept until its signature is too
-- old to be accepted anyway (expires_at), then dropped; kept in the database so a restart does
-- not forget the ones still fresh.
CREATE TABLE webhook_tokens (
  provider    TEXT NOT NULL,
  token       TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  PRIMARY KEY (provider, token)
) WITHOUT ROWID;
CREATE INDEX webhook_tokens_expires ON webhook_tokens (expires_at);
