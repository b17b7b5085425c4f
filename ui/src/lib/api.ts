// Typed wrappers over the app's IPC commands. Every payload type comes from the generated
// bindings (src/bindings/index.ts, made from the Rust types); errors arrive as ApiError.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  ApiError,
  AppStatus,
  DemoAccount,
  Peaks,
  PlayerUpdate,
  Playing,
  ProgressUpdate,
  Recording,
  Search,
  SessionEnded,
  ShareLogin,
  UserInfo,
} from '../bindings';

export type * from '../bindings';

/** An ApiError, or anything else thrown, as an ApiError. */
export function asApiError(e: unknown): ApiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    return e as ApiError;
  }
  return { code: 'internal', message: String(e) };
}

export const api = {
  appStatus: () => invoke<AppStatus>('app_status'),
  openArchive: (path: string, login: ShareLogin | null = null) =>
    invoke<string>('open_archive', { path, login }),
  forgetShareLogin: () => invoke<void>('forget_share_login'),
  demoInfo: () => invoke<DemoAccount[]>('demo_info'),
  logon: (user: string, password: string) => invoke<UserInfo>('logon', { user, password }),
  logout: () => invoke<void>('logout'),
  lock: () => invoke<void>('lock'),
  touch: () => invoke<void>('touch'),
  search: (query: Search) => invoke<Recording[]>('search', { query }),
  searchFilters: () => invoke<Search | null>('search_filters'),
  saveSearchFilters: (query: Search | null) => invoke<void>('save_search_filters', { query }),
  show: (id: string) => invoke<Recording>('show', { id }),
  waveform: (id: string) => invoke<Peaks>('waveform', { id }),
  play: (id: string, request: string | null, reason: string | null) =>
    invoke<Playing>('play', { id, request, reason }),
  pause: () => invoke<void>('pause'),
  resume: () => invoke<void>('resume'),
  seek: (ms: number) => invoke<void>('seek', { ms: Math.max(0, Math.round(ms)) }),
  skip: (seconds: number) => invoke<void>('skip', { seconds }),
  setSpeed: (speed: number) => invoke<void>('set_speed', { speed }),
  setVolume: (volume: number) => invoke<void>('set_volume', { volume }),
  stop: () => invoke<void>('stop'),
};

export function onPlayer(f: (u: PlayerUpdate) => void): Promise<UnlistenFn> {
  return listen<PlayerUpdate>('player', (e) => f(e.payload));
}

export function onProgress(f: (u: ProgressUpdate) => void): Promise<UnlistenFn> {
  return listen<ProgressUpdate>('progress', (e) => f(e.payload));
}

export function onSessionEnded(f: (u: SessionEnded) => void): Promise<UnlistenFn> {
  return listen<SessionEnded>('session', (e) => f(e.payload));
}

/** 73.4 s as "1:13". */
export function mmss(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** An RFC 3339 time as the practice reads it (local date and time). */
export function when(rfc3339: string): string {
  const d = new Date(rfc3339);
  if (Number.isNaN(d.getTime())) return rfc3339;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
