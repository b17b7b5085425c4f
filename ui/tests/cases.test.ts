// The data controller's cases and the one-click export, with the IPC mocked: what each shows for
// what the core returns, the commands sent with their arguments, and the core's refusals.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { called, ipc, settle, userInfo } from './harness';
import { emit } from '@tauri-apps/api/event';
import type { CertificateInfo, ExportInfo, Recording, RequestInfo, UserInfo } from '../src/bindings';
import Cases from '../src/screens/Cases.svelte';
import CasePanel from '../src/components/CasePanel.svelte';
import ExportPanel from '../src/components/ExportPanel.svelte';

const hex = (i: number) => i.toString(16).padStart(32, '0');

function req(i: number, over: Partial<RequestInfo> = {}): RequestInfo {
  return {
    id: `f${hex(i).slice(1)}`,
    purpose: 'sar',
    state: 'open',
    raised_by: 'alex.morgan',
    raised_at: '2026-04-01T09:00:00Z',
    reason: 'Letter asking for copies of calls',
    call_time: null,
    staff: null,
    number: '07700 900123',
    nhs_number: null,
    other_numbers: [],
    parties: ['Harriet Vale'],
    info: null,
    received: '2026-04-01',
    identity: 'passport seen at reception',
    due_date: '2026-05-01',
    days_left: 30,
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
    data_controller_case: true,
    may_decide: false,
    ...over,
  };
}

function rec(i: number, over: Partial<Recording> = {}): Recording {
  return {
    id: hex(i),
    started_at: '2026-03-05T10:00:00Z',
    direction: 'inbound',
    staff: 'lee.carter',
    extension: '101',
    external_number: '07700 900123',
    parties: ['Harriet Vale'],
    duration_s: 100,
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

const dc: UserInfo = userInfo('alex.morgan', ['admin', 'data-controller']);
const pbm: UserInfo = userInfo('jordan.reid', ['approver', 'supervisor']);

let target: HTMLElement;
let component: Record<string, unknown> | null = null;

beforeEach(() => {
  target = document.createElement('div');
  document.body.appendChild(target);
  HTMLCanvasElement.prototype.getContext = (() => null) as never;
});

afterEach(async () => {
  if (component) unmount(component);
  component = null;
  await settle();
  target.remove();
  clearMocks();
});

const $ = <T extends Element = HTMLElement>(sel: string) => target.querySelector<T>(sel);

function input(sel: string, value: string) {
  const el = $<HTMLInputElement | HTMLTextAreaElement>(sel)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}
function click(sel: string) {
  $<HTMLElement>(sel)!.click();
}

describe('cases screen', () => {
  it('groups the data controller\'s cases and words how near each SAR is to its due date', async () => {
    const rows = [
      req(1, { days_left: 30 }),
      req(2, { days_left: 10, state: 'approved' }),
      req(3, { days_left: 3 }),
      req(4, { days_left: -2 }),
      req(5, { days_left: -20, state: 'completed' }),
      req(6, { purpose: 'police', received: null, identity: null, due_date: null, days_left: null }),
      req(7, { purpose: 'erasure', state: 'approved', due_date: null, days_left: null }),
      req(8, { purpose: 'portability', due_date: null, days_left: null }),
      req(9, { purpose: 'disciplinary', data_controller_case: false, due_date: null, days_left: null }),
      req(10, { purpose: 'complaint', data_controller_case: false, due_date: null, days_left: null }),
    ];
    ipc((cmd) => (cmd === 'requests' ? rows : null));
    component = mount(Cases, { target, props: { user: dc } });
    await settle();
    expect(called('requests')[0].args).toEqual({ filter: null });
    expect($('#cases-title')!.textContent).toBe("Data controller's cases");
    expect($<HTMLAnchorElement>('#cases-new-sar')!.getAttribute('href')).toBe('#/requests/new');
    expect($('#cases-new-sar')!.textContent).toBe('Log a new SAR');
    expect(target.textContent).toContain('one calendar month');
    expect(target.textContent).toContain('two further months');

    const ids = (list: string) => [...target.querySelectorAll(`#${list} tr[data-request-id]`)].map((r) => r.getAttribute('data-request-id'));
    // Open SARs nearest their due date first; the completed one last.
    expect(ids('sar-list')).toEqual([rows[3].id, rows[2].id, rows[1].id, rows[0].id, rows[4].id]);
    expect(ids('police-list')).toEqual([rows[5].id]);
    expect(ids('erasure-list')).toEqual([rows[6].id]);
    expect(ids('portability-list')).toEqual([rows[7].id]);
    expect(ids('disciplinary-list')).toEqual([rows[8].id]);
    expect(target.querySelector(`[data-request-id="${rows[9].id}"]`)).toBeNull();

    const row = (r: RequestInfo) => $(`tr[data-request-id="${r.id}"]`)!;
    const days = (r: RequestInfo) => row(r).querySelector('[data-days-left]')!;
    expect(days(rows[0]).textContent).toBe('30 days left');
    expect(days(rows[1]).textContent).toBe('Due soon: 10 days left');
    expect(days(rows[1]).getAttribute('data-level')).toBe('soon');
    expect(days(rows[2]).textContent).toBe('Urgent: 3 days left');
    expect(days(rows[2]).getAttribute('data-level')).toBe('urgent');
    expect(days(rows[3]).textContent).toBe('Overdue by 2 days');
    expect(days(rows[4]).textContent).toBe('Closed');
    expect(row(rows[1]).querySelector('td[data-state]')!.getAttribute('data-state')).toBe('approved');
    expect(row(rows[0]).textContent).toContain('2026-04-01');
    expect(row(rows[0]).textContent).toContain('2026-05-01');
    expect(row(rows[0]).textContent).toContain('passport seen at reception');
    expect(row(rows[0]).querySelector('a')!.getAttribute('href')).toBe(`#/request/${rows[0].id}`);
  });

  it('shows the core\'s refusal', async () => {
    ipc(() => {
      throw { code: 'forbidden', message: 'not permitted: your roles see no requests' };
    });
    component = mount(Cases, { target, props: { user: pbm } });
    await settle();
    const e = $('#cases-error')!;
    expect(e.getAttribute('role')).toBe('alert');
    expect(e.textContent).toContain('your roles see no requests');
  });
});

describe('case panel', () => {
  function panel(request: RequestInfo, user = dc) {
    let changed = 0;
    component = mount(CasePanel, { target, props: { request, user, onchanged: () => changed++ } });
    flushSync();
    return () => changed;
  }

  it('shows a SAR\'s dates, extends it with days and reason and shows the new due date', async () => {
    const r = req(1, { days_left: 4 });
    ipc((cmd) => (cmd === 'extend_request' ? '2026-05-29' : null));
    const changed = panel(r);
    expect($('#case-received')!.textContent).toBe('2026-04-01');
    expect($('#case-identity')!.textContent).toBe('passport seen at reception');
    expect($('#case-due')!.textContent).toBe('2026-05-01');
    expect($('#case-days-left')!.textContent).toBe('Urgent: 4 days left');
    input('#extend-days', '28');
    input('#extend-reason', 'complex: many calls over two years');
    click('#extend');
    await settle();
    expect(called('extend_request')[0].args).toEqual({ id: r.id, days: 28, reason: 'complex: many calls over two years' });
    expect($('#extend-result')!.textContent).toContain('2026-05-29');
    expect(changed()).toBe(1);
    expect($('#case-error')).toBeNull();
  });

  it('checks the number of days, then shows the core\'s refusal as worded', async () => {
    const r = req(1);
    ipc((cmd) => {
      if (cmd === 'extend_request') throw { code: 'invalid', message: 'an extension may reach 2026-07-01 at the latest (two further months); 2026-07-15 is too late' };
      return null;
    });
    const changed = panel(r);
    input('#extend-days', '0');
    input('#extend-reason', 'complex');
    click('#extend');
    await settle();
    expect(called('extend_request')).toHaveLength(0);
    expect($('#case-error')!.textContent).toContain('from 1 to 61');
    input('#extend-days', '61');
    click('#extend');
    await settle();
    const e = $('#case-error')!;
    expect(e.getAttribute('role')).toBe('alert');
    expect(e.textContent).toContain('an extension may reach 2026-07-01 at the latest');
    expect($('#extend-result')).toBeNull();
    expect(changed()).toBe(0);
  });

  it('records a disciplinary agreement with its text and the scanned letter\'s path', async () => {
    const r = req(2, { purpose: 'disciplinary', data_controller_case: false, received: null, identity: null, due_date: null, days_left: null });
    ipc(() => null);
    const changed = panel(r);
    expect($('#extend')).toBeNull();
    expect($('#erase')).toBeNull();
    expect($('#agree-scan-hint')!.textContent).toContain('SHA-256');
    input('#agree-text', 'I agree to release the call of 5 March to the disciplinary panel. A. Morgan');
    input('#agree-scan', '/home/pm/scans/agreement.pdf');
    click('#agree');
    await settle();
    expect(called('agree_request')[0].args).toEqual({
      id: r.id,
      text: 'I agree to release the call of 5 March to the disciplinary panel. A. Morgan',
      scan: '/home/pm/scans/agreement.pdf',
    });
    expect(changed()).toBe(1);
    expect($('#agree-result')).not.toBeNull();
  });

  it('sends no scan when none was chosen, and hides the form once agreed', async () => {
    ipc(() => null);
    const open = req(2, { purpose: 'disciplinary', data_controller_case: false, due_date: null, days_left: null });
    panel(open);
    input('#agree-text', 'Agreed.');
    click('#agree');
    await settle();
    expect(called('agree_request')[0].args).toEqual({ id: open.id, text: 'Agreed.', scan: null });
    unmount(component!);
    panel({ ...open, agreement: 'Agreed.', agreement_by: 'alex.morgan' });
    expect($('#agree')).toBeNull();
    expect($('#case-agreement')!.textContent).toContain('Agreed.');
  });

  it('erases only after the confirmation, then shows the certificate', async () => {
    const r = req(3, { purpose: 'erasure', state: 'approved', approved_recordings: [hex(1), hex(2)], due_date: null, days_left: null });
    const cert: CertificateInfo = {
      certificate: 'c0ffee00c0ffee00',
      archive: 'a1',
      kind: 'erasure',
      created_at: '2026-04-20T10:00:00Z',
      by_name: 'Alex Morgan',
      request: r.id,
      deleted: [hex(1), hex(2)].map((id) => ({ recording: id, call_date: '2026-03-05', deleted_at: '2026-04-20T10:00:00Z', reason: 'erasure request', request: r.id, rule: null })),
      audit_files: 3,
      audit_sha256: 'ab'.repeat(32),
      uncompacted: ['journal/' + 'ee'.repeat(16) + '/0000000000000003.cvj'],
      signature: 'sig',
    };
    ipc((cmd) => (cmd === 'erase_request' ? cert : null));
    const changed = panel(r);
    expect($('#erase-warning')!.textContent).toContain('for good');
    expect($('#mark-sent')).toBeNull();
    click('#erase');
    await settle();
    expect(called('erase_request')).toHaveLength(0);
    click('#erase-confirm');
    flushSync();
    click('#erase');
    await settle();
    expect(called('erase_request')[0].args).toEqual({ id: r.id });
    expect($('[data-certificate="c0ffee00c0ffee00"]')).not.toBeNull();
    expect($('.cert-count')!.textContent).toBe('2');
    // A journal file the run could not open is named, not passed over.
    expect($('#cert-uncompacted')!.textContent).toContain('0000000000000003.cvj');
    expect($('#erase')).toBeNull();
    expect(changed()).toBe(1);
  });

  it('marks an approved case as sent with its note', async () => {
    const r = req(4, { state: 'approved' });
    ipc(() => null);
    const changed = panel(r);
    expect($<HTMLInputElement>('#complete-note')!.value).toBe('Package sent to the requester');
    click('#mark-sent');
    await settle();
    expect(called('complete_request')[0].args).toEqual({ id: r.id, note: 'Package sent to the requester' });
    expect(changed()).toBe(1);
  });
});

describe('export panel', () => {
  const recs = [rec(1), rec(2, { duration_s: 40 })];
  const approved = req(5, { state: 'approved', approved_recordings: recs.map((r) => r.id), allow: ['listen', 'export'] });

  function panel(request: RequestInfo, user = dc) {
    let changed = 0;
    component = mount(ExportPanel, { target, props: { request, user, onchanged: () => changed++ } });
    flushSync();
    return () => changed;
  }

  it('exports the SAR package as a ZIP with redactions, shows progress and the passphrase once, then marks it sent', async () => {
    let finish: (x: ExportInfo) => void = () => {};
    ipc((cmd, a) => {
      if (cmd === 'show') return recs.find((r) => r.id === a.id);
      if (cmd === 'waveform') return { window_ms: 10, peaks: [[-10, 10], [-100, 90]] };
      if (cmd === 'export_request') return new Promise<ExportInfo>((r) => (finish = r));
      return null;
    });
    const writes: string[] = [];
    Object.defineProperty(navigator, 'clipboard', { configurable: true, value: { writeText: async (t: string) => void writes.push(t) } });
    const changed = panel(approved);
    expect($('#export-title')!.textContent).toBe('Export');
    expect($('#export-run')!.textContent!.trim()).toBe('Export subject access package');
    expect($<HTMLInputElement>('#export-as-zip')!.checked).toBe(true);
    input('#export-folder', '/home/pm/Desktop');

    click('#redact-open');
    await settle();
    const [a, b] = recs.map((r) => r.id);
    expect(target.querySelectorAll('[data-redaction-editor]')).toHaveLength(2);
    // Typed range on the first recording.
    input(`.redact-start[data-recording="${a}"]`, '12.5');
    input(`.redact-end[data-recording="${a}"]`, '20');
    click(`.redact-add[data-recording="${a}"]`);
    flushSync();
    // Dragged range on the second (40 s long, drawn 1000 px wide): 250 px to 500 px is 10 s to 20 s.
    const wave = $(`.wave[data-recording="${b}"]`)!;
    wave.getBoundingClientRect = () => ({ left: 0, top: 0, width: 1000, height: 100, right: 1000, bottom: 100, x: 0, y: 0, toJSON: () => ({}) });
    wave.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true, clientX: 500 }));
    wave.dispatchEvent(new MouseEvent('pointermove', { bubbles: true, clientX: 250 }));
    wave.dispatchEvent(new MouseEvent('pointerup', { bubbles: true, clientX: 250 }));
    flushSync();
    expect($(`.selection[data-recording="${b}"]`)!.textContent).toContain('0:10 – 0:20');
    expect($<HTMLInputElement>(`.redact-start[data-recording="${b}"]`)!.value).toBe('10');
    click(`.redact-add[data-recording="${b}"]`);
    flushSync();
    // A range past the end is refused before it reaches the core.
    input(`.redact-start[data-recording="${b}"]`, '30');
    input(`.redact-end[data-recording="${b}"]`, '45');
    click(`.redact-add[data-recording="${b}"]`);
    flushSync();
    expect($(`[data-redaction-editor="${b}"] [role="alert"]`)!.textContent).toContain('only 0:40 long');
    click('#redact-tone');
    flushSync();
    expect($('#redact-count')!.textContent).toContain('2 parts will be replaced by a tone');

    click('#export-run');
    await settle();
    expect($<HTMLButtonElement>('#export-run')!.disabled).toBe(true);
    await emit('progress', { task: 'export', done: 1, total: 2 });
    await settle();
    const bar = $<HTMLProgressElement>('#export-progress')!;
    expect(bar.value).toBe(1);
    expect(bar.max).toBe(2);
    expect(called('export_request')[0].args).toEqual({
      export: {
        request: approved.id,
        folder: '/home/pm/Desktop',
        zip: true,
        redactions: [
          { recording: a, start_s: 12.5, end_s: 20 },
          { recording: b, start_s: 10, end_s: 20 },
        ],
        tone: true,
      },
    });
    finish({
      request: approved.id,
      destination: '/home/pm/Desktop/subject-access-r0000000.zip',
      files: ['subject-access-r0000000.zip'],
      passphrase: 'maple-otter-violet-42',
      zip_sha256: 'cd'.repeat(32),
      redactions: 2,
    });
    await settle();
    expect($('#export-progress')).toBeNull();
    expect($('#export-destination')!.textContent).toBe('/home/pm/Desktop/subject-access-r0000000.zip');
    expect($('#export-result')!.textContent).toContain('subject-access-r0000000.zip');
    expect($('#export-passphrase')!.textContent).toBe('maple-otter-violet-42');
    expect(target.textContent).toContain('Shown once — give it to the requester by a separate route (e.g. by phone); Callvault does not keep it');
    // No copy button: clipboard history would keep the passphrase.
    expect($('#export-copy')).toBeNull();
    expect(writes).toEqual([]);

    click('#export-mark-sent');
    await settle();
    expect(called('complete_request')[0].args).toEqual({ id: approved.id, note: 'Package sent to the requester' });
    expect(changed()).toBe(1);
    expect($('#export-mark-sent')).toBeNull();
    Reflect.deleteProperty(navigator, 'clipboard');
  });

  it('exports a folder copy without redaction for others, and shows no passphrase', async () => {
    const police: RequestInfo = { ...approved, purpose: 'police' };
    ipc((cmd) =>
      cmd === 'export_request'
        ? { request: police.id, destination: '/media/usb/police-r0000000', files: ['manifest.csv', 'checksums.sha256'], passphrase: null, zip_sha256: null, redactions: 0 }
        : null,
    );
    panel(police, pbm);
    expect($('#export-run')!.textContent!.trim()).toBe('Export copy');
    expect($<HTMLInputElement>('#export-as-folder')!.checked).toBe(true);
    expect($('#redact-open')).toBeNull();
    input('#export-folder', '/media/usb');
    click('#export-run');
    await settle();
    expect(called('export_request')[0].args).toEqual({
      export: { request: police.id, folder: '/media/usb', zip: false, redactions: [], tone: false },
    });
    expect($('#export-destination')!.textContent).toBe('/media/usb/police-r0000000');
    expect($('#export-files')!.textContent).toContain('manifest.csv');
    expect($('#export-passphrase')).toBeNull();
    expect($('#export-mark-sent')).toBeNull();
  });

  it('shows the core\'s refusal, and asks for a folder first', async () => {
    const open: RequestInfo = { ...approved, state: 'open' };
    ipc((cmd) => {
      if (cmd === 'export_request') throw { code: 'forbidden', message: `request ${open.id} is open (an export needs an approved request)` };
      return null;
    });
    panel(open);
    click('#export-run');
    await settle();
    expect(called('export_request')).toHaveLength(0);
    expect($('#export-error')!.textContent).toContain('Choose the folder');
    input('#export-folder', '/home/pm');
    click('#export-as-folder');
    flushSync();
    click('#export-run');
    await settle();
    expect(called('export_request')[0].args.export).toMatchObject({ zip: false });
    const e = $('#export-error')!;
    expect(e.getAttribute('role')).toBe('alert');
    expect(e.textContent).toContain('is open (an export needs an approved request)');
    expect($('#export-result')).toBeNull();
    expect($<HTMLButtonElement>('#export-run')!.disabled).toBe(false);
  });
});
