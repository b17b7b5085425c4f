// The UI shows and hides by the user's abilities (the core's rulebook), never by role names: a
// screen that reads a role would drift from the core, as RequestPage once did. Only src/lib/roles.ts
// (the Users screen's role editor) and the generated bindings name roles.
/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';

const sources = import.meta.glob('../src/**/*.{svelte,ts}', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;
const allowed = ['../src/lib/roles.ts', '../src/bindings/index.ts'];

const ROLE_NAME = /['"`](admin|approver|data-controller|supervisor|clinician|ingest)['"`]/;
const READS_ROLES = /hasRole|\broles\s*\.\s*(includes|some|every|indexOf|find|filter)\s*\(/;

describe('screens decide by abilities, not roles', () => {
  it('no file of the UI but the role editor names a role or tests a role list', () => {
    const offenders: string[] = [];
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    for (const [rel, text] of Object.entries(sources)) {
      if (allowed.includes(rel)) continue;
      text
        .split('\n')
        .forEach((line, i) => {
          if (ROLE_NAME.test(line) || READS_ROLES.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
        });
    }
    expect(offenders).toEqual([]);
  });

  it('would catch a screen that reads a role', () => {
    expect(READS_ROLES.test("{#if user.roles.includes('data-controller')}")).toBe(true);
    expect(ROLE_NAME.test("hasRole(user, 'approver')")).toBe(true);
  });
});
