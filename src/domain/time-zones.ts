/**
 * Time zones as readers give them. `Intl` accepts any IANA name and alias, but resolves them to
 * CLDR's ids, some of which are IANA's old spellings (Node 20 and 24, and Chromium, all answer
 * `Asia/Calcutta` for `Asia/Kolkata`). A zone is stored under its current IANA name, so one place
 * has one name whichever browser or Node version sent it.
 */

/** CLDR's ids that IANA has renamed: the same place under its current name. */
export const RENAMED_ZONES: Readonly<Record<string, string>> = {
  'Africa/Asmera': 'Africa/Asmara',
  'America/Buenos_Aires': 'America/Argentina/Buenos_Aires',
  'America/Catamarca': 'America/Argentina/Catamarca',
  'America/Coral_Harbour': 'America/Atikokan',
  'America/Cordoba': 'America/Argentina/Cordoba',
  'America/Godthab': 'America/Nuuk',
  'America/Indianapolis': 'America/Indiana/Indianapolis',
  'America/Jujuy': 'America/Argentina/Jujuy',
  'America/Louisville': 'America/Kentucky/Louisville',
  'America/Mendoza': 'America/Argentina/Mendoza',
  'Asia/Calcutta': 'Asia/Kolkata',
  'Asia/Katmandu': 'Asia/Kathmandu',
  'Asia/Rangoon': 'Asia/Yangon',
  'Asia/Saigon': 'Asia/Ho_Chi_Minh',
  'Atlantic/Faeroe': 'Atlantic/Faroe',
  'Europe/Kiev': 'Europe/Kyiv',
  'Pacific/Enderbury': 'Pacific/Kanton',
  'Pacific/Ponape': 'Pacific/Pohnpei',
  'Pacific/Truk': 'Pacific/Chuuk',
};

/** The zone's current IANA name, or undefined when `Intl` does not know it. */
export function canonicalTimeZone(name: string): string | undefined {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
  return RENAMED_ZONES[resolved] ?? resolved;
}

/**
 * Every zone a reader can pick, by current name, sorted. `Intl`'s list leaves out UTC, which is
 * what a reader who thinks in UTC picks.
 */
export const TIME_ZONES: readonly string[] = [
  ...new Set([...Intl.supportedValuesOf('timeZone').map((z) => RENAMED_ZONES[z] ?? z), 'UTC']),
].sort();

/** The hours a reader's digest can arrive at, local time: their morning. */
export const DELIVERY_HOURS = [5, 6, 7, 8, 9, 10, 11] as const;
