// mailauth ships no types; the tests use its DKIM verifier only.
declare module 'mailauth/lib/dkim/verify.js' {
  export interface DkimResult {
    signingDomain: string;
    selector: string;
    algo: string;
    status: { result: string; comment?: string; header?: Record<string, string> };
  }
  export function dkimVerify(
    input: Buffer,
    options?: { resolver?: (name: string, rr: string) => Promise<string[][]>; curTime?: Date },
  ): Promise<{ results: DkimResult[] }>;
}
