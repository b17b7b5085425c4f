// Wording shared by the request screens (overview, requests list, a request's page). Presentation
// only: every rule about requests is the core's.
import { mmss, when, type NewRequest, type Purpose, type Recording, type RequestState } from './api';

/** How a SAR's deadline is coloured: green > 14 days, amber ≤ 14, red ≤ 5 or overdue. */
export function daysClass(days: number): 'sar-green' | 'sar-amber' | 'sar-red' {
  if (days <= 5) return 'sar-red';
  if (days <= 14) return 'sar-amber';
  return 'sar-green';
}

/** "12 days left", "1 day left", "overdue by 3 days" (never colour alone). */
export function daysText(days: number): string {
  if (days < 0) {
    const n = -days;
    return `overdue by ${n} ${n === 1 ? 'day' : 'days'}`;
  }
  return `${days} ${days === 1 ? 'day' : 'days'} left`;
}

/** A request's state as a practice manager reads it, next to the state word. */
export const STATE_MEANING: Record<RequestState, string> = {
  open: 'waiting for a decision',
  approved: 'approved',
  rejected: 'rejected',
  completed: 'done',
};

/** Today as YYYY-MM-DD (this computer's date). */
export function today(): string {
  return when(new Date().toISOString()).slice(0, 10);
}

/** An NHS number as people write it: "999 123 4560". */
export function nhsSpaced(n: string): string {
  return /^\d{10}$/.test(n) ? `${n.slice(0, 3)} ${n.slice(3, 6)} ${n.slice(6)}` : n;
}

/** A call in one line: "2026-03-02 14:30, lee.carter, 07700 900123, 1:13". */
export function callSummary(r: Recording): string {
  return [when(r.started_at), r.staff ?? 'unassigned', r.external_number ?? 'no number', mmss(r.duration_s * 1000)].join(', ');
}

/** Names typed as "Harriet Vale, John Smith". */
export function splitParties(s: string): string[] {
  return s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/** A form's text as the core's optional field (empty is "not known"). */
export function opt(s: string): string | null {
  const t = s.trim();
  return t === '' ? null : t;
}

/** The fields of the raise form, as typed. */
export type ReqForm = {
  /** Empty until one is chosen. */
  purpose: Purpose | '';
  reason: string;
  callTime: string;
  staff: string;
  number: string;
  /** Other numbers the patient uses, separated by commas. */
  otherNumbers: string;
  /** The patient's NHS number as typed (the core checks it). */
  nhsNumber: string;
  parties: string;
  info: string;
  received: string;
  identity: string;
};

/** The form as the core's NewRequest (SAR fields only for a SAR). */
export function newRequest(f: ReqForm): NewRequest {
  const sar = f.purpose === 'sar';
  return {
    purpose: f.purpose,
    reason: f.reason.trim(),
    call_time: opt(f.callTime),
    staff: opt(f.staff),
    number: opt(f.number),
    other_numbers: splitParties(f.otherNumbers),
    nhs_number: opt(f.nhsNumber),
    parties: splitParties(f.parties),
    info: opt(f.info),
    received: sar ? opt(f.received) : null,
    identity: sar ? opt(f.identity) : null,
  };
}
