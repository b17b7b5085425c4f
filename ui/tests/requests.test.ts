// Component tests of the request screens with the IPC mocked: the overview, raising a request
// (candidates as the user types), the requests list, a request's page (approve / reject and the
// core's refusals) and the consent mark on a call.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { called, ipc, settle, userInfo } from './harness';
import type { OverviewInfo, Recording, RequestInfo, Right, UserInfo } from '../src/bindings';
import Overview from '../src/screens/Overview.svelte';
import Requests from '../src/screens/Requests.svelte';
import RaiseRequest from '../src/screens/RaiseRequest.svelte';
import RequestPage from '../src/screens/RequestPage.svelte';
import ConsentPanel from '../src/components/ConsentPanel.svelte';
import { today } from '../src/lib/reqFormat';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rec(i: number, over: Partial<Recording> = {}): Recording {
  return {
    id: i.toString(16).padStart(32, '0'),
    started_at: `2026-03-${String((i % 28) + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`,
    direction: 'inbound',
    staff: 'lee.carter',
    extension: '101',
    external_number: `07700 900${String(i % 1000).padStart(3, '0')}`,
    parties: ['Harriet Vale'],
    duration_s: 73,
    notes: null,
    codec: 'pcm_mulaw',
    sample_rate: 8000,
    channels: 1,
    source_name: `demo-${i}.wav`,
    nhs_numbers: [],
    conversation: null,
    consent: null,
    ...over,
  };
}

function req(id: string, over: Partial<RequestInfo> = {}): RequestInfo {
  return {
    id,
    purpose: 'complaint',
    state: 'open',
    raised_by: 'jordan.reid',
    raised_at: '2026-03-10T09:00:00Z',
    reason: 'Complaint about a rude receptionist on 2 March',
    call_time: '2026-03-02',
    staff: 'lee.carter',
    number: null,
    nhs_number: null,
    other_numbers: [],
    parties: [],
    info: null,
    received: null,
    identity: null,
    due_date: null,
    days_left: null,
    approved_by: null,
    approved_recordings: [],
    allow: [],
    expires_at: null,
    rejected_by: null,
    rejection_reason: null,
    agreement_by: null,
    agreement: null,
    extensions: [],
    completed_by: null,
    ignored: [],
    candidates: [],
    data_controller_case: false,
    may_decide: false,
    ...over,
  };
}

const approver: UserInfo = userInfo('dr.priya.shah', ['approver', 'clinician']);
const manager: UserInfo = userInfo('jordan.reid', ['approver', 'supervisor']);
const reception: UserInfo = userInfo('lee.carter', ['staff']);

let target: HTMLElement;
let component: Record<string, unknown> | null = null;

beforeEach(() => {
  target = document.createElement('div');
  document.body.appendChild(target);
  location.hash = '';
});

afterEach(async () => {
  if (component) unmount(component);
  component = null;
  await settle();
  target.remove();
  clearMocks();
});

const $ = <T extends Element = HTMLElement>(sel: string) => target.querySelector<T>(sel);

function type(id: string, value: string) {
  const el = $<HTMLInputElement | HTMLTextAreaElement>(`#${id}`)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

function choose(id: string, value: string) {
  const el = $<HTMLSelectElement>(`#${id}`)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('overview', () => {
  const days = Array.from({ length: 30 }, (_, i) => ({ day: `2026-03-${String(i + 1).padStart(2, '0')}`, count: i === 9 ? 12 : 1 }));
  const info: OverviewInfo = {
    awaiting_decision: [req('r-await', { raised_by: 'jordan.reid', reason: 'Abusive caller on Monday', purpose: 'staff-protection' })],
    my_requests: [req('r-mine', { state: 'approved', raised_by: 'dr.priya.shah' })],
    sar_cases: [
      req('sar-red', { purpose: 'sar', days_left: -2, due_date: '2026-03-20', data_controller_case: true }),
      req('sar-amber', { purpose: 'sar', days_left: 10, due_date: '2026-04-01', data_controller_case: true }),
      req('sar-green', { purpose: 'sar', days_left: 25, due_date: '2026-04-16', data_controller_case: true }),
    ],
    holds: [{ hold: 'h1', recordings: ['a', 'b'], reason: 'Solicitor letter received', request: null, by: 'jordan.reid', at: '2026-03-05T10:00:00Z', released: null }],
    retention: { months: 36, due_now: 4, held: 1, due_within_30_days: 7 },
    recent_imports: null,
    calls_per_day: days,
    requests_by_purpose: [{ purpose: 'complaint', count: 3 }, { purpose: 'sar', count: 1 }],
    awaiting_keys: [],
    breaches: [],
  };

  it('shows what needs the user now, SAR cases coloured and worded by days left', async () => {
    ipc((cmd) => (cmd === 'overview' ? info : null));
    component = mount(Overview, { target, props: { user: manager } });
    await settle();
    expect($('#overview-title')!.textContent).toBe('Overview');
    expect($<HTMLAnchorElement>('#overview-raise')!.getAttribute('href')).toBe('#/requests/new');

    const awaiting = $('#awaiting [data-request-id="r-await"]')!;
    expect(awaiting.querySelector('a')!.getAttribute('href')).toBe('#/request/r-await');
    expect(awaiting.textContent).toContain('Staff protection (abusive caller)');
    expect(awaiting.textContent).toContain('jordan.reid');
    expect(awaiting.textContent).toContain('Abusive caller on Monday');

    expect($('#my-requests [data-request-id="r-mine"] [data-state]')!.textContent).toBe('approved');

    const sars = [...target.querySelectorAll<HTMLElement>('#sar-cases [data-request-id]')];
    expect(sars.map((s) => s.dataset.daysLeft)).toEqual(['-2', '10', '25']);
    expect(sars[0].classList.contains('sar-red')).toBe(true);
    expect(sars[0].textContent).toContain('overdue by 2 days');
    expect(sars[1].classList.contains('sar-amber')).toBe(true);
    expect(sars[1].textContent).toContain('10 days left');
    expect(sars[2].classList.contains('sar-green')).toBe(true);
    expect(sars[2].textContent).toContain('25 days left');

    expect($('#holds')!.textContent).toContain('Solicitor letter received');
    expect($('#retention')!.textContent).toContain('4');
    expect($<HTMLAnchorElement>('#retention a[href="#/retention"]')).not.toBeNull();
    expect($('#recent-imports')).toBeNull();

    expect($('#calls-chart')!.getAttribute('aria-label')).toBe(
      'Calls per day, last 30 days: total 41, busiest day 2026-03-10 (12)',
    );
    expect($('#purpose-chart')!.getAttribute('aria-label')).toContain('Complaint investigation 3');
    expect($('#breach-reports')).toBeNull();
  });

  it('tells the line manager of a new breach report, and that it is past its 72 hours', async () => {
    const breach = (id: string, state: string, overdue: boolean) => ({
      id,
      reporter: 'sam.patel',
      own: false,
      what: 'played a call to the wrong caller',
      happened_at: null,
      calls: [],
      reported_at: '2026-03-01T09:00:00Z',
      due: '2026-03-04T09:00:00Z',
      overdue,
      state,
      reportable: state === 'received' ? null : false,
      assessment: state === 'received' ? null : 'next of kin',
      assessed_by: null,
      assessed_at: null,
      closed_at: null,
      note: null,
    });
    ipc((cmd) => (cmd === 'overview' ? { ...info, breaches: [breach('b1', 'received', true), breach('b2', 'assessed', false)] } : null));
    component = mount(Overview, { target, props: { user: manager } });
    await settle();
    const card = $('#breach-count')!;
    expect(card.textContent).toContain('1 new breach report');
    expect(card.textContent).toContain('past the 72 hours');
    expect(card.querySelector('a')!.getAttribute('href')).toBe('#/breaches');
  });

  it('asks an approver to deliver an assigned call\'s key, naming who assigned it to whom, and delivers it only when asked', async () => {
    const waiting = {
      recording: 'rec-1',
      started_at: '2026-03-02T10:00:00Z',
      external_number: '07700 900123',
      assigned_to: 'dr.cal.one',
      assigned_by: 'jordan.reid',
      assigned_at: '2026-03-03T09:00:00Z',
    };
    ipc((cmd) => (cmd === 'overview' ? { ...info, awaiting_keys: [waiting] } : cmd === 'deliver_assigned_key' ? 'dr.cal.one' : null));
    component = mount(Overview, { target, props: { user: manager } });
    await settle();
    const item = $('#awaiting-keys [data-recording-id="rec-1"]')!;
    expect(item.textContent).toContain('assigned to dr.cal.one by jordan.reid');
    expect(item.querySelector('a')!.getAttribute('href')).toBe('#/call/rec-1');
    expect(called('deliver_assigned_key')).toEqual([]);
    item.querySelector<HTMLButtonElement>('button')!.click();
    await settle();
    expect(called('deliver_assigned_key')[0].args).toEqual({ id: 'rec-1', assignedTo: 'dr.cal.one', assignedAt: '2026-03-03T09:00:00Z' });
    expect($('#deliver-done')!.textContent).toContain('delivered to dr.cal.one');
    expect($('#awaiting-keys [data-recording-id="rec-1"]')).toBeNull();
  });

  it('shows no key panel when no assigned call is waiting', async () => {
    ipc((cmd) => (cmd === 'overview' ? info : null));
    component = mount(Overview, { target, props: { user: manager } });
    await settle();
    expect($('#awaiting-keys')).toBeNull();
  });

  it('says so in plain words when nothing is waiting, and leaves out what the user does not run', async () => {
    ipc(() => ({ ...info, awaiting_decision: [], my_requests: [], sar_cases: [], holds: null, retention: null, calls_per_day: [], requests_by_purpose: [] }));
    component = mount(Overview, { target, props: { user: reception } });
    await settle();
    expect($('#awaiting')!.textContent).toContain('Nothing is waiting for your decision');
    expect($('#holds')).toBeNull();
    expect($('#retention')).toBeNull();
    expect($('#sar-cases')).toBeNull();
  });
});

describe('requests list', () => {
  it('lists requests with their state, filters by state, and lists those awaiting the user first', async () => {
    const all = [
      req('r1', { raised_by: 'jordan.reid', may_decide: true }),
      req('r2', { raised_by: 'dr.priya.shah', may_decide: false }),
      req('r3', { state: 'approved', purpose: 'sar', due_date: '2026-04-01', days_left: 12 }),
    ];
    ipc((cmd, a) => (cmd === 'requests' ? (a.filter ? all.filter((r) => r.state === a.filter) : all) : null));
    component = mount(Requests, { target, props: { user: approver } });
    await settle();
    expect(called('requests')[0].args).toEqual({ filter: null });
    expect(target.querySelectorAll('tr[data-request-id]').length).toBe(3);
    expect($('tr[data-request-id="r3"] td[data-state]')!.textContent).toBe('approved');
    expect($('tr[data-request-id="r3"]')!.textContent).toContain('12 days left');
    expect($<HTMLAnchorElement>('tr[data-request-id="r1"] a')!.getAttribute('href')).toBe('#/request/r1');
    // Awaiting: those the core says this user may decide now.
    expect($('[data-awaiting-id="r1"]')).not.toBeNull();
    expect($('[data-awaiting-id="r2"]')).toBeNull();

    choose('requests-filter', 'approved');
    await settle();
    expect(called('requests').at(-1)!.args).toEqual({ filter: 'approved' });
    expect([...target.querySelectorAll<HTMLElement>('tr[data-request-id]')].map((r) => r.dataset.requestId)).toEqual(['r3']);
  });

  it('lists the data controller\'s own open cases as awaiting them', async () => {
    const dc: UserInfo = userInfo('alex.morgan', ['admin', 'data-controller']);
    const all = [
      req('s1', { purpose: 'sar', raised_by: 'alex.morgan', data_controller_case: true, may_decide: true }),
      req('c1', { raised_by: 'jordan.reid', may_decide: false }),
    ];
    ipc((cmd) => (cmd === 'requests' ? all : null));
    component = mount(Requests, { target, props: { user: dc } });
    await settle();
    expect($('[data-awaiting-id="s1"]')).not.toBeNull();
    expect($('[data-awaiting-id="c1"]')).toBeNull();
  });
});

describe('raise a request', () => {
  it('shows candidate calls as the user types (debounced), and the core\'s complaint about a date', async () => {
    const found = [rec(1), rec(2)];
    ipc((cmd, a) => {
      if (cmd === 'request_candidates') {
        const d = a.details as { call_time: string | null };
        if (d.call_time === '2026-13-40') throw { code: 'invalid', message: "call time '2026-13-40': use YYYY-MM-DD or YYYY-MM-DD HH:MM" };
        return found;
      }
      return null;
    });
    component = mount(RaiseRequest, { target, props: { user: manager } });
    await settle();
    type('r-staff', 'lee');
    type('r-staff', 'lee.carter');
    type('r-number', '07700 900001');
    await sleep(100);
    expect(called('request_candidates').length).toBe(0);
    await sleep(400);
    await settle();
    expect(called('request_candidates').length).toBe(1);
    expect(called('request_candidates')[0].args.details).toMatchObject({ staff: 'lee.carter', number: '07700 900001', purpose: '' });
    const rows = [...target.querySelectorAll<HTMLElement>('#r-candidates tr[data-recording-id]')];
    expect(rows.map((r) => r.dataset.recordingId)).toEqual([rec(1).id, rec(2).id]);
    expect(rows[0].querySelector('a')!.getAttribute('href')).toBe(`#/call/${rec(1).id}`);

    type('r-call-time', '2026-13-40');
    await sleep(450);
    await settle();
    expect($('#r-candidates-error')!.getAttribute('role')).toBe('alert');
    expect($('#r-candidates-error')!.textContent).toContain("call time '2026-13-40'");
    // Not blocking: the submit button is still there to press.
    expect($<HTMLButtonElement>('#r-submit')!.disabled).toBe(false);
  });

  it('raises the request with exactly the typed fields and goes to it; the core\'s refusal is shown', async () => {
    let fail = true;
    ipc((cmd) => {
      if (cmd === 'raise_request') {
        if (fail) throw { code: 'invalid', message: 'a request needs a clearly defined reason' };
        return 'req-new-1';
      }
      return [];
    });
    component = mount(RaiseRequest, { target, props: { user: manager } });
    await settle();
    expect($<HTMLSelectElement>('#r-purpose')!.options[0].value).toBe('');
    $<HTMLButtonElement>('#r-submit')!.click();
    await settle();
    expect($('#r-error')!.getAttribute('role')).toBe('alert');
    expect($('#r-error')!.textContent).toContain('a request needs a clearly defined reason');
    expect(location.hash).toBe('');

    fail = false;
    choose('r-purpose', 'sar');
    await settle();
    expect($<HTMLInputElement>('#r-received')!.value).toBe(today());
    type('r-reason', 'Patient asked in writing for their calls');
    type('r-call-time', '2026-03-02 14:30');
    type('r-staff', '101');
    type('r-number', '07700 900123');
    type('r-other-numbers', '01632 960123, ');
    type('r-nhs', ' 999 000 0018 ');
    type('r-parties', 'Harriet Vale, , John Smith ');
    type('r-info', 'Letter dated 1 March');
    type('r-received', '2026-03-03');
    type('r-identity', 'Passport seen at reception');
    $<HTMLButtonElement>('#r-submit')!.click();
    await settle();
    expect(called('raise_request').at(-1)!.args).toEqual({
      details: {
        purpose: 'sar',
        reason: 'Patient asked in writing for their calls',
        call_time: '2026-03-02 14:30',
        staff: '101',
        number: '07700 900123',
        other_numbers: ['01632 960123'],
        nhs_number: '999 000 0018',
        parties: ['Harriet Vale', 'John Smith'],
        info: 'Letter dated 1 March',
        received: '2026-03-03',
        identity: 'Passport seen at reception',
      },
    });
    expect(location.hash).toBe('#/request/req-new-1');
  });

  it('is filled in from the call it was raised from', async () => {
    const r = rec(5, { started_at: '2026-03-06T10:05:00', external_number: '07700 900555', staff: 'lee.carter' });
    ipc((cmd) => (cmd === 'show' ? r : cmd === 'request_candidates' ? [r] : null));
    component = mount(RaiseRequest, { target, props: { user: manager, recording: r.id } });
    await settle();
    expect($<HTMLInputElement>('#r-call-time')!.value).toBe('2026-03-06');
    expect($<HTMLInputElement>('#r-number')!.value).toBe('07700 900555');
    expect($<HTMLInputElement>('#r-staff')!.value).toBe('lee.carter');
    expect($(`#r-candidates tr[data-recording-id="${r.id}"]`)).not.toBeNull();
    // Non-SAR purposes carry no SAR fields.
    expect(called('request_candidates')[0].args.details).toMatchObject({ received: null, identity: null });
  });
});

describe('request page', () => {
  it('approves exactly the ticked calls with the expiry and rights chosen, then shows the approval', async () => {
    const c = [rec(1), rec(2), rec(3)];
    let current = req('r1', { candidates: c, may_decide: true });
    ipc((cmd, a) => {
      if (cmd === 'request') return current;
      if (cmd === 'approve_request') {
        const ap = a.approval as { recordings: string[]; allow: Right[] };
        current = req('r1', { candidates: c, state: 'approved', approved_by: 'dr.priya.shah', approved_recordings: ap.recordings, allow: ap.allow, expires_at: '2026-03-17T09:00:00Z' });
        return null;
      }
      return null;
    });
    component = mount(RequestPage, { target, props: { id: 'r1', user: approver } });
    await settle();
    expect($('#request-title')!.textContent).toBe('Complaint investigation request');
    expect($('#request-state')!.textContent).toBe('open');
    // Several candidates: none ticked until the approver chooses.
    const boxes = [...target.querySelectorAll<HTMLInputElement>('#candidates input[data-candidate]')];
    expect(boxes.map((b) => b.checked)).toEqual([false, false, false]);
    expect($<HTMLInputElement>('#approve-days')!.value).toBe('14');
    expect($<HTMLInputElement>('#allow-listen')!.checked).toBe(true);
    expect($<HTMLInputElement>('#allow-export')!.checked).toBe(false);

    boxes[2].click();
    boxes[0].click();
    flushSync();
    type('approve-days', '7');
    $<HTMLButtonElement>('#approve')!.click();
    await settle();
    expect(called('approve_request')[0].args).toEqual({
      id: 'r1',
      approval: { recordings: [c[0].id, c[2].id], expires_days: 7, allow: ['listen'] },
    });
    expect($('#request-state')!.textContent).toBe('approved');
    expect($('#decision')).toBeNull();
    const listen = $(`[data-approved-recording="${c[2].id}"] a`)!;
    expect(listen.textContent).toBe('Listen');
    expect(listen.getAttribute('href')).toBe(`#/call/${c[2].id}?request=r1`);
  });

  it('shows the core\'s refusal when the approver raised the request', async () => {
    const c = [rec(1)];
    ipc((cmd) => {
      if (cmd === 'request') return req('r9', { candidates: c, raised_by: 'jordan.reid', purpose: 'police', data_controller_case: false, may_decide: true });
      if (cmd === 'approve_request') throw { code: 'forbidden', message: 'request r9: you raised it, so someone else must decide it' };
      return null;
    });
    component = mount(RequestPage, { target, props: { id: 'r9', user: manager } });
    await settle();
    // A single candidate is ticked by default; police releases allow export by default.
    expect($<HTMLInputElement>(`input[data-candidate="${c[0].id}"]`)!.checked).toBe(true);
    expect($<HTMLInputElement>('#allow-export')!.checked).toBe(true);
    $<HTMLButtonElement>('#approve')!.click();
    await settle();
    expect(called('approve_request')[0].args.approval).toEqual({ recordings: [c[0].id], expires_days: 14, allow: ['listen', 'export'] });
    const err = $('#decision-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('you raised it, so someone else must decide it');
    expect($('#request-state')!.textContent).toBe('open');
  });

  it('rejects with the reason typed and shows the rejection', async () => {
    let current = req('r2', { candidates: [rec(1)], may_decide: true });
    ipc((cmd, a) => {
      if (cmd === 'request') return current;
      if (cmd === 'reject_request') {
        current = req('r2', { state: 'rejected', rejected_by: 'dr.priya.shah', rejection_reason: a.reason as string });
        return null;
      }
      return null;
    });
    component = mount(RequestPage, { target, props: { id: 'r2', user: approver } });
    await settle();
    type('reject-reason', 'Not enough detail to find the call');
    $<HTMLButtonElement>('#reject')!.click();
    await settle();
    expect(called('reject_request')[0].args).toEqual({ id: 'r2', reason: 'Not enough detail to find the call' });
    expect($('#request-state')!.textContent).toBe('rejected');
    expect($('#rejection-reason')!.textContent).toBe('Not enough detail to find the call');
  });

  it('offers no decision on a request the core says this approver may not decide (a SAR, or their own)', async () => {
    ipc((cmd) => (cmd === 'request' ? req('s2', { candidates: [rec(1)], purpose: 'sar', data_controller_case: true, may_decide: false }) : null));
    component = mount(RequestPage, { target, props: { id: 's2', user: approver } });
    await settle();
    expect($('#request-state')!.textContent).toBe('open');
    expect($('#decision')).toBeNull();
    expect($('#approve')).toBeNull();
  });

  it('shows no decision panel to someone who cannot decide, and lets an approved request be completed', async () => {
    let current = req('r3', { state: 'approved', raised_by: 'lee.carter', approved_by: 'jordan.reid', approved_recordings: [rec(1).id], allow: ['listen'], candidates: [rec(1)], ignored: ['approval by lee.carter: raised it'] });
    ipc((cmd) => {
      if (cmd === 'request') return current;
      if (cmd === 'complete_request') {
        current = { ...current, state: 'completed', completed_by: 'lee.carter' };
        return null;
      }
      return null;
    });
    component = mount(RequestPage, { target, props: { id: 'r3', user: reception } });
    await settle();
    expect($('#decision')).toBeNull();
    expect($('input[data-candidate]')).toBeNull();
    expect(target.querySelector('.warning')!.textContent).toContain('approval by lee.carter: raised it');
    expect($('#case-panel')).toBeNull();
    type('complete-note', 'Complaint answered');
    $<HTMLButtonElement>('#complete')!.click();
    await settle();
    expect(called('complete_request').map((c) => c.args)).toEqual([{ id: 'r3', note: 'Complaint answered' }]);
    expect($('#request-state')!.textContent).toBe('completed');
  });

  it('shows the data controller\'s case panel for a SAR', async () => {
    ipc((cmd) => (cmd === 'request' ? req('s1', { purpose: 'sar', data_controller_case: true, received: '2026-03-01', due_date: '2026-04-01', days_left: 12 }) : null));
    component = mount(RequestPage, { target, props: { id: 's1', user: approver } });
    await settle();
    expect($('#request-title')!.textContent).toBe('Subject access request (SAR) request');
    expect($('#case-panel')).not.toBeNull();
    expect($('#complete')).toBeNull();
    expect(target.textContent).toContain('12 days left');
  });
});

describe('consent mark', () => {
  it('sends the mark the user chose and tells the call page', async () => {
    ipc(() => null);
    let marked = 0;
    const r = rec(7);
    component = mount(ConsentPanel, { target, props: { recording: r, onmarked: () => marked++ } });
    flushSync();
    expect($('#consent-save')).toBeNull();
    $<HTMLButtonElement>('#consent-open')!.click();
    flushSync();
    expect($('#consent-open')!.getAttribute('aria-expanded')).toBe('true');
    expect($<HTMLInputElement>('#consent-objected')!.checked).toBe(true);
    type('consent-stopped-at', '01:12');
    type('consent-note', 'Caller asked not to be recorded');
    $<HTMLButtonElement>('#consent-save')!.click();
    await settle();
    expect(called('mark_consent')[0].args).toEqual({
      mark: { recording: r.id, kind: 'caller_objected', stopped_at: '01:12', note: 'Caller asked not to be recorded' },
    });
    expect(marked).toBe(1);

    $<HTMLButtonElement>('#consent-open')!.click();
    flushSync();
    $<HTMLInputElement>('#consent-not-recorded')!.click();
    flushSync();
    $<HTMLButtonElement>('#consent-save')!.click();
    await settle();
    expect(called('mark_consent')[1].args).toEqual({ mark: { recording: r.id, kind: 'not_recorded', stopped_at: null, note: null } });
  });

  it('shows the core\'s refusal as it words it', async () => {
    ipc(() => {
      throw { code: 'forbidden', message: 'recording 7: only its staff member or a supervisor may mark consent' };
    });
    let marked = 0;
    component = mount(ConsentPanel, { target, props: { recording: rec(7), onmarked: () => marked++ } });
    flushSync();
    $<HTMLButtonElement>('#consent-open')!.click();
    flushSync();
    $<HTMLButtonElement>('#consent-save')!.click();
    await settle();
    expect($('#consent-error')!.getAttribute('role')).toBe('alert');
    expect($('#consent-error')!.textContent).toContain('only its staff member or a supervisor may mark consent');
    expect(marked).toBe(0);
  });
});
