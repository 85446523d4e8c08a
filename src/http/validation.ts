import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { hasZodFastifySchemaValidationErrors, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';

/**
 * Routes declare their zod schemas in their options (`schema: { body, querystring, params }`);
 * Fastify runs them before the handler. A failure is answered with the first problem in the
 * words the schema gives it, as the rest of the app words its answers.
 */
export function useZodSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
}

/** The first problem a route's schema found, as one sentence and the field it is about. */
export function validationProblem(err: unknown): { field: string | null; message: string } | undefined {
  if (!hasZodFastifySchemaValidationErrors(err)) return undefined;
  const first = err.validation[0]!;
  return { field: first.instancePath.split('/')[1] || null, message: first.message ?? 'The form could not be read.' };
}

/** A path segment carrying a signed link's token. */
export const linkSegment = z.string().max(200, { error: 'The address is not valid.' });

/** A signed link's token, as the confirm, preferences and unsubscribe routes take it. */
export const tokenParams = z.object({ token: linkSegment });
