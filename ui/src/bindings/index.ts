// Generated from src-tauri/src/dto.rs by `UPDATE_BINDINGS=1 cargo test -p callvault-app --test bindings`.
// Do not edit: tests/bindings.rs fails when this file and the Rust types disagree.

export type ApiError = { code: string, message: string, };

export type AppStatus = { demo: boolean, 
/**
 * The archive folder remembered on this device, if any.
 */
archive: string | null, 
/**
 * The logged-on user, if any.
 */
user: UserInfo | null, 
/**
 * Whether this system lets the app sign in to a network share itself (Windows); elsewhere
 * the share is connected in the file manager first.
 */
share_sign_in: boolean, };

export type ShareLogin = { user: string, password: string, remember: boolean, };

export type ProgressUpdate = { 
/**
 * What is running, e.g. "index" (catching up with the archive's journal at logon).
 */
task: string, done: number, total: number, };

export type UserInfo = { name: string, 
/**
 * Role names as the policy words them ("supervisor", "clinician", ...).
 */
roles: Array<string>, 
/**
 * Minutes of inactivity before the app locks (the archive's `idle-lock-minutes`).
 */
idle_lock_minutes: number, 
/**
 * Things the core asks the user to be told (e.g. a damaged journal segment).
 */
warnings: Array<string>, };

export type DemoAccount = { name: string, password: string, who: string, roles: Array<string>, };

export type Search = { 
/**
 * From this date or date-time (local time of the practice), inclusive.
 */
from: string | null, 
/**
 * Up to this date or date-time, inclusive.
 */
to: string | null, 
/**
 * External number; any punctuation.
 */
number: string | null, 
/**
 * Staff user name or extension.
 */
staff: string | null, 
/**
 * A party's name.
 */
party: string | null, 
/**
 * "inbound", "outbound" or "internal".
 */
direction: string | null, min_duration_s: number | null, max_duration_s: number | null, 
/**
 * Words in the notes.
 */
text: string | null, 
/**
 * At most this many results (the core allows up to 100,000).
 */
limit: number | null, };

export type Recording = { id: string, started_at: string, 
/**
 * "inbound", "outbound" or "internal".
 */
direction: string, staff: string | null, extension: string | null, external_number: string | null, parties: Array<string>, duration_s: number, notes: string | null, codec: string, sample_rate: number, channels: number, source_name: string, 
/**
 * A consent mark, e.g. "caller objected; recording stopped at 01:12".
 */
consent: string | null, };

export type Peaks = { window_ms: number, peaks: Array<[number, number]>, };

export type Playing = { recording: string, 
/**
 * The request this listening was authorised under, if any.
 */
request: string | null, 
/**
 * Length of the audio, when the decoder knows it.
 */
duration_ms: number | null, speed: number, volume: number, };

export type PlayerUpdate = { "type": "position", ms: number, } | { "type": "paused", ms: number, } | { "type": "resumed", ms: number, } | { "type": "ended" } | { "type": "stopped" } | { "type": "error", message: string, };

export type SessionEnded = { 
/**
 * "idle" (the idle lock) or "error".
 */
reason: string, };
