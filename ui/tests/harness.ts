// What every component test needs: the IPC mocked through one handler (every call recorded, in
// order), the calls made to one command, and a wait for Svelte to settle after async work.
import { flushSync } from 'svelte';
import { mockIPC } from '@tauri-apps/api/mocks';
import type { Abilities, Role, UserInfo } from '../src/bindings';
import abilitiesByRoles from './abilities.json';

export type Handler = (cmd: string, args: Record<string, unknown>) => unknown;

let calls: { cmd: string; args: Record<string, unknown> }[] = [];

/** Mock the IPC (and its events) with `h`; forget the calls recorded so far. */
export function ipc(h: Handler) {
  calls = [];
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      return h(cmd, a);
    },
    { shouldMockEvents: true },
  );
}

/** The calls made to `cmd`, oldest first. */
export const called = (cmd: string) => calls.filter((c) => c.cmd === cmd);

/** Let pending promises and timers of 0 ms run, flushing Svelte's updates between them. */
export async function settle() {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
  }
}

/** A logged-on user with `roles`, and the abilities the core gives them (tests/abilities.json is
 * generated from the core's rulebook by src-tauri/tests/bindings.rs). */
export function userInfo(name: string, roles: Role[]): UserInfo {
  const key = [...roles].sort().join(',');
  const abilities = (abilitiesByRoles as Record<string, Abilities>)[key];
  if (!abilities) throw new Error(`no abilities for roles ${key} in tests/abilities.json`);
  return { name, roles, abilities, idle_lock_minutes: 10, warnings: [] };
}
