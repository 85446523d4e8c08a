/** How often a subscriber gets the digest: every day, or the week's top papers once a week. */
export const CADENCES = ['daily', 'weekly'] as const;
export type Cadence = (typeof CADENCES)[number];
