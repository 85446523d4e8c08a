import type { Db } from '../../../db/connection.ts';

export type WebhookTokensStore = ReturnType<typeof createWebhookTokensStore>;

/** The tokens of signed webhook calls already used, each until its signature would be refused as stale. */
export function createWebhookTokensStore(db: Db) {
  const statements = {
    // A token is still valid at the very millisecond it expires: dropped only after it.
    forgetExpired: db.prepare('DELETE FROM webhook_tokens WHERE expires_at < ?'),
    remember: db.prepare(
      'INSERT INTO webhook_tokens (provider, token, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ),
  };
  return {
    /** Records a token as used until `expiresAt`; false when it was used before. Drops expired ones first. */
    use: db.transaction((provider: string, token: string, expiresAt: Date, now: Date): boolean => {
      statements.forgetExpired.run(now.toISOString());
      return statements.remember.run(provider, token, expiresAt.toISOString()).changes === 1;
    }),
  };
}
