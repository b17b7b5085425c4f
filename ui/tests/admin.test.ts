// Component tests of the administrative screens (retention and holds, audit, users, import) with
// the IPC mocked: what each shows for what the core returns, its refusals, and the arguments sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { called, ipc, settle, userInfo } from './harness';
import { emit } from '@tauri-apps/api/event';
import type {
  AuditRow,
  BreachInfo,
  CertificateInfo,
  DnrListInfo,
  DueInfo,
  HoldInfo,
  ImportFile,
  ImportSummary,
  Role,
  SettingInfo,
  UserInfo,
  UserRow,
} from '../src/bindings';
import Retention from '../src/screens/Retention.svelte';
import Audit from '../src/screens/Audit.svelte';
import Users from '../src/screens/Users.svelte';
import Import from '../src/screens/Import.svelte';
import Breaches from '../src/screens/Breaches.svelte';

const sent = called;

let target: HTMLElement;
let component: Record<string, unknown> | null = null;

beforeEach(() => {
  target = document.createElement('div');
  document.body.appendChild(target);
});

afterEach(async () => {
  if (component) unmount(component);
  component = null;
  await settle();
  target.remove();
  clearMocks();
  location.hash = '';
});

const $ = <T extends Element = HTMLElement>(sel: string) => target.querySelector<T>(sel);
const text = (sel: string) => $(sel)?.textContent ?? '';

function input(sel: string, value: string) {
  const el = $<HTMLInputElement | HTMLTextAreaElement>(sel)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

function check(sel: string, on = true) {
  const el = $<HTMLInputElement>(sel)!;
  if (el.checked !== on) el.click();
  flushSync();
}

function click(sel: string) {
  $<HTMLButtonElement>(sel)!.click();
}

function select(sel: string, value: string) {
  const el = $<HTMLSelectElement>(sel)!;
  el.value = value;
  el.dispatchEvent(new Event('change', { bubbles: true }));
  flushSync();
}

const id = (n: number) => n.toString(16).padStart(32, '0');
const me = (roles: Role[]): UserInfo => userInfo('jordan.reid', roles);

function certificate(kind: string, recordings: string[]): CertificateInfo {
  return {
    certificate: 'c'.repeat(32),
    archive: 'a'.repeat(32),
    kind,
    created_at: '2026-04-01T09:00:00Z',
    by_name: 'jordan.reid',
    request: null,
    deleted: recordings.map((r) => ({
      recording: r,
      call_date: '2023-01-02',
      deleted_at: '2026-04-01T09:00:00Z',
      reason: 'retention period ended',
      request: null,
      rule: 'older than the 36-month retention period',
    })),
    audit_files: 3,
    audit_sha256: 'f'.repeat(64),
    uncompacted: [],
    signature: 's',
  };
}

const settings: SettingInfo[] = [
  { key: 'retention-months', value: '36', meaning: 'How long calls are kept' },
  { key: 'idle-lock-minutes', value: '10', meaning: 'Lock after this many idle minutes' },
];

describe('retention screen', () => {
  const due: DueInfo[] = [
    { recording: id(1), call_date: '2022-12-01', rule: 'older than the 36-month retention period', held_by: null },
    { recording: id(2), call_date: '2022-12-02', rule: 'older than the 36-month retention period', held_by: 'h'.repeat(32) },
  ];

  it('lists what the sweep would delete, and running it shows the certificate', async () => {
    ipc((cmd) => {
      if (cmd === 'holds') return [];
      if (cmd === 'settings') return settings;
      if (cmd === 'retention_due') return due;
      if (cmd === 'retention_run') return certificate('retention', [id(1)]);
      return null;
    });
    component = mount(Retention, { target, props: { user: me(['supervisor']) } });
    await settle();
    click('#retention-plan');
    await settle();
    expect(text('#due-count')).toBe('2');
    const rows = target.querySelectorAll('#due-list tr[data-recording-id]');
    expect(rows.length).toBe(2);
    expect(rows[1].textContent).toContain('held by');
    expect(rows[0].textContent).toContain('2022-12-01');
    expect($<HTMLButtonElement>('#retention-run')!.disabled).toBe(true);
    check('#retention-confirm');
    click('#retention-run');
    await settle();
    expect(sent('retention_run').length).toBe(1);
    const cert = $('[data-certificate]')!;
    expect(cert.getAttribute('data-certificate')).toBe('c'.repeat(32));
    expect(cert.querySelector(`[data-deleted="${id(1)}"]`)).not.toBeNull();
    expect($('#cert-uncompacted')).toBeNull();
    expect($('#cert-folder')).not.toBeNull();
    expect($('#cert-save')).not.toBeNull();
  });

  it('says so when nothing was due', async () => {
    ipc((cmd) => (cmd === 'holds' ? [] : cmd === 'settings' ? settings : null));
    component = mount(Retention, { target, props: { user: me(['supervisor']) } });
    await settle();
    check('#retention-confirm');
    click('#retention-run');
    await settle();
    expect($('#retention-nothing')).not.toBeNull();
    expect($('[data-certificate]')).toBeNull();
  });

  it('places a hold with the ids, reason and request typed, and shows a release refusal as worded', async () => {
    const hold: HoldInfo = {
      hold: 'b'.repeat(32), recordings: [id(3), id(4)], reason: 'complaint', request: null,
      by: 'jordan.reid', at: '2026-03-01T10:00:00Z', released: null,
    };
    let holds: HoldInfo[] = [];
    ipc((cmd) => {
      if (cmd === 'holds') return holds;
      if (cmd === 'settings') return settings;
      if (cmd === 'add_hold') {
        holds = [hold];
        return hold.hold;
      }
      if (cmd === 'release_hold') throw { code: 'forbidden', message: 'not permitted: only the data controller releases a legal hold' };
      return null;
    });
    component = mount(Retention, { target, props: { user: me(['supervisor']) } });
    await settle();
    input('#hold-recordings', `${id(3)}\n${id(4)}, ${id(3)}`);
    input('#hold-reason', 'complaint');
    click('#hold-add');
    await settle();
    expect(sent('add_hold')[0].args).toEqual({ recordings: [id(3), id(4), id(3)], reason: 'complaint', request: null });
    const row = $(`#holds-list tr[data-hold="${hold.hold}"]`)!;
    expect(row.textContent).toContain('complaint');
    expect(row.textContent).toContain('2');

    // With no calls named, the request is sent alone (the core holds what its details find).
    input('#hold-request', ' r123 ');
    input('#hold-reason', 'legal claim');
    click('#hold-add');
    await settle();
    expect(sent('add_hold')[1].args).toEqual({ recordings: [], reason: 'legal claim', request: 'r123' });

    click(`[data-release="${hold.hold}"]`);
    flushSync();
    input('#release-reason', 'complaint closed');
    click('#release-confirm');
    await settle();
    expect(sent('release_hold')[0].args).toEqual({ hold: hold.hold, reason: 'complaint closed' });
    const err = $('#retention-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('only the data controller releases a legal hold');
  });

  it('deletes by hand from a call page link and shows the certificate; settings refusals shown', async () => {
    location.hash = `#/retention?recording=${id(5)}`;
    ipc((cmd) => {
      if (cmd === 'holds') return [];
      if (cmd === 'settings') return settings;
      if (cmd === 'delete_recordings') return certificate('deletion', [id(5)]);
      if (cmd === 'set_setting') throw { code: 'forbidden', message: 'not permitted: archive settings are set by the data controller' };
      return null;
    });
    component = mount(Retention, { target, props: { user: me(['supervisor']) } });
    await settle();
    expect($<HTMLTextAreaElement>('#delete-recordings')!.value).toBe(id(5));
    input('#delete-reason', 'recorded in error');
    check('#delete-confirm');
    click('#delete-run');
    await settle();
    expect(sent('delete_recordings')[0].args).toEqual({ recordings: [id(5)], reason: 'recorded in error' });
    expect($('[data-certificate]')!.textContent).toContain('deletion');

    expect($('#settings-list tr[data-setting="retention-months"]')!.textContent).toContain('How long calls are kept');
    input('[data-setting-input="retention-months"]', '72');
    click('[data-setting-save="retention-months"]');
    await settle();
    expect(sent('set_setting')[0].args).toEqual({ key: 'retention-months', value: '72' });
    expect(text('#retention-error')).toContain('archive settings are set by the data controller');
  });
});

describe('do-not-record list (retention screen)', () => {
  const list = (labels: string[], problems: string[] = []): DnrListInfo => ({
    entries: labels.map((label, i) => ({
      id: `e${i}`,
      kind: i === 1 ? 'extension' : 'number',
      label,
      added_by: 'dana.dc',
      added_at: '2026-12-01T10:00:00Z',
    })),
    problems,
  });

  it('is not offered to a supervisor, and the list is not asked for', async () => {
    ipc((cmd) => (cmd === 'holds' ? [] : cmd === 'settings' ? settings : null));
    component = mount(Retention, { target, props: { user: me(['supervisor']) } });
    await settle();
    expect($('#dnr-title')).toBeNull();
    expect(sent('dnr_list').length).toBe(0);
  });

  it('shows the data controller its labels, adds a number with its label, and removes after confirming', async () => {
    let current = list(['union representative']);
    ipc((cmd, args) => {
      if (cmd === 'holds') return [];
      if (cmd === 'settings') return settings;
      if (cmd === 'dnr_list') return current;
      if (cmd === 'dnr_add') {
        current = list(['union representative', 'staff room phone']);
        return 'e1';
      }
      if (cmd === 'dnr_remove') {
        expect(args).toEqual({ id: 'e0' });
        current = list([]);
        return 'e0';
      }
      return null;
    });
    component = mount(Retention, { target, props: { user: me(['data-controller']) } });
    await settle();
    expect($('#dnr-list tr[data-dnr="e0"]')!.textContent).toContain('union representative');
    // Nothing to add until both the number and whose it is are given.
    expect($<HTMLButtonElement>('#dnr-add')!.disabled).toBe(true);
    input('#dnr-value', '250');
    check('#dnr-extension');
    input('#dnr-label', 'staff room phone');
    click('#dnr-add');
    await settle();
    expect(sent('dnr_add')[0].args).toEqual({ value: '250', extension: true, label: 'staff room phone' });
    expect(text('#dnr-notice')).toContain('not kept from now on');
    expect(target.querySelectorAll('#dnr-list tr[data-dnr]').length).toBe(2);
    expect($<HTMLInputElement>('#dnr-value')!.value).toBe('');
    // Remove asks first.
    click('[data-dnr-remove="e0"]');
    await settle();
    expect(sent('dnr_remove').length).toBe(0);
    click('[data-dnr-confirm="e0"]');
    await settle();
    expect(sent('dnr_remove').length).toBe(1);
    expect($('#dnr-empty')).not.toBeNull();
  });

  it('names versions of the list that are not believed, and shows the core\'s refusal as worded', async () => {
    ipc((cmd) => {
      if (cmd === 'holds') return [];
      if (cmd === 'settings') return settings;
      if (cmd === 'dnr_list') return list([], ['dnr/00000002.cvd: failed verification: written by someone who is not the data controller (not believed)']);
      if (cmd === 'dnr_add') throw { code: 'invalid', message: "invalid input: field 'number': no digits in it" };
      return null;
    });
    component = mount(Retention, { target, props: { user: me(['data-controller']) } });
    await settle();
    expect(text('#dnr-problems')).toContain('not the data controller');
    input('#dnr-value', 'withheld');
    input('#dnr-label', 'x');
    click('#dnr-add');
    await settle();
    expect(text('#dnr-error')).toContain("field 'number'");
  });
});

describe('breach reports', () => {
  const report = (over: Partial<BreachInfo> = {}): BreachInfo => ({
    id: 'b'.repeat(32),
    reporter: 'sam.patel',
    own: false,
    what: 'played a call to the wrong caller',
    happened_at: '2026-03-02T10:05:00Z',
    calls: [id(7)],
    reported_at: '2026-03-02T10:30:00Z',
    due: '2026-03-05T10:30:00Z',
    overdue: false,
    state: 'received',
    reportable: null,
    assessment: null,
    assessed_by: null,
    assessed_at: null,
    closed_at: null,
    note: null,
    ...over,
  });

  it('sends a report with its time and call ids, and lists the reporter\'s own', async () => {
    let list: BreachInfo[] = [];
    ipc((cmd, a) => {
      if (cmd === 'breaches') return list;
      if (cmd === 'report_breach') {
        list = [report({ own: true, what: a.what as string })];
        return 'b'.repeat(32);
      }
      return null;
    });
    component = mount(Breaches, { target, props: { user: me(['staff']) } });
    await settle();
    expect($('#breach-none')).not.toBeNull();
    expect($<HTMLButtonElement>('#breach-send')!.disabled).toBe(true);
    input('#breach-what', 'played a call to the wrong caller');
    input('#breach-when', '2026-03-02T10:05');
    input('#breach-calls', `${id(7)}\n`);
    click('#breach-send');
    await settle();
    expect(sent('report_breach')[0].args).toEqual({ what: 'played a call to the wrong caller', when: '2026-03-02T10:05', calls: [id(7)] });
    expect(text('#breach-notice')).toContain('line manager and the data controller');
    const li = $(`#breach-list li[data-breach="${'b'.repeat(32)}"]`)!;
    expect(li.textContent).toContain('Your report');
    expect(li.querySelector(`a[href="#/call/${id(7)}"]`)).not.toBeNull();
    // A member of staff is offered no assessment.
    expect(li.querySelector('[data-act]')).toBeNull();
  });

  it('lets the data controller assess, then close, a report; overdue ones are marked', async () => {
    let current = report({ overdue: true });
    ipc((cmd, a) => {
      if (cmd === 'breaches') return [current];
      if (cmd === 'assess_breach') {
        current = report({ state: 'assessed', reportable: false, assessment: a.reason as string, assessed_by: 'dana.dc', assessed_at: '2026-03-03T09:00:00Z' });
        return null;
      }
      if (cmd === 'close_breach') {
        current = { ...current, state: 'closed', note: a.note as string, closed_at: '2026-03-03T10:00:00Z' };
        return null;
      }
      return null;
    });
    component = mount(Breaches, { target, props: { user: me(['data-controller']) } });
    await settle();
    expect($('[data-overdue]')).not.toBeNull();
    click(`[data-act="${'b'.repeat(32)}"]`);
    await settle();
    expect($<HTMLButtonElement>('#assess-save')!.disabled).toBe(true);
    check('input[name^="reportable-"][value="no"]');
    input('#assess-reason', 'the caller was the next of kin');
    click('#assess-save');
    await settle();
    expect(sent('assess_breach')[0].args).toEqual({ id: 'b'.repeat(32), reportable: false, reason: 'the caller was the next of kin' });
    expect($('[data-assessment]')!.textContent).toContain('Not reportable to the ICO');
    click(`[data-act="${'b'.repeat(32)}"]`);
    await settle();
    input('#close-note', 'reminded the desk');
    click('#close-save');
    await settle();
    expect(sent('close_breach')[0].args).toEqual({ id: 'b'.repeat(32), note: 'reminded the desk' });
    expect($('[data-note]')!.textContent).toContain('reminded the desk');
    expect($('[data-act]')).toBeNull();
  });
});

describe('audit screen', () => {
  const row = (n: number, over: Partial<AuditRow> = {}): AuditRow => ({
    at: `2026-03-01T10:${String(n % 60).padStart(2, '0')}:00Z`,
    device: 'd1',
    actor: 'jordan.reid',
    action: 'recording.play',
    outcome: 'allowed',
    targets: [id(n)],
    detail: null,
    request: null,
    ...over,
  });

  it('loads everything, sends the filter as an AuditQuery and marks refusals', async () => {
    ipc((cmd, a) => {
      if (cmd === 'audit') {
        const f = a.filter as { user: string | null };
        return f.user ? [row(1, { outcome: 'refused', action: 'recording.delete', detail: 'not permitted' })] : Array.from({ length: 520 }, (_, i) => row(i));
      }
      return null;
    });
    component = mount(Audit, { target, props: { user: me(['admin']) } });
    await settle();
    expect(sent('audit')[0].args.filter).toEqual({ user: null, recording: null, request: null, from: null, to: null, searched_for: null });
    expect(text('#audit-count')).toBe('520');
    expect(target.querySelectorAll('#audit-list tbody tr').length).toBe(500);
    click('#audit-more');
    flushSync();
    expect(target.querySelectorAll('#audit-list tbody tr').length).toBe(520);

    input('#audit-user', 'lee.carter');
    input('#audit-recording', id(9));
    input('#audit-from', '2026-03-01');
    input('#audit-to', '2026-03-31');
    input('#audit-searched-for', ' 07700 900123 ');
    click('#audit-search');
    await settle();
    expect(sent('audit')[1].args.filter).toEqual({
      user: 'lee.carter',
      recording: id(9),
      request: null,
      from: '2026-03-01',
      to: '2026-03-31',
      searched_for: '07700 900123',
    });
    const refused = $('#audit-list tr[data-action="recording.delete"][data-outcome="refused"]')!;
    expect(refused.textContent).toContain('Refused');
    expect(refused.querySelector('[title]')).not.toBeNull();
  });

  it('verifies the trail: intact, then problems', async () => {
    let ok = true;
    ipc((cmd) => {
      if (cmd === 'audit') return [];
      if (cmd === 'verify_audit') {
        return ok
          ? { ok: true, devices: 2, files: 5, entries: 123, problems: [] }
          : { ok: false, devices: 2, files: 5, entries: 123, problems: ['audit/d1/3.jsonl: hash chain broken at entry 7'] };
      }
      return null;
    });
    component = mount(Audit, { target, props: { user: me(['data-controller']) } });
    await settle();
    click('#audit-verify');
    await settle();
    let res = $('#audit-verify-result')!;
    expect(res.textContent).toContain('Intact: 123 entries in 5 files from 2 devices');
    expect(res.classList.contains('ok')).toBe(true);
    ok = false;
    click('#audit-verify');
    await settle();
    res = $('#audit-verify-result')!;
    expect(res.classList.contains('error')).toBe(true);
    expect(res.getAttribute('role')).toBe('alert');
    expect(res.textContent).toContain('hash chain broken at entry 7');
  });

  it('writes the CSV with the filter and says how many entries', async () => {
    ipc((cmd) => (cmd === 'audit' ? [] : cmd === 'export_audit_csv' ? 42 : null));
    component = mount(Audit, { target, props: { user: me(['admin']) } });
    await settle();
    input('#audit-request', 'r1');
    input('#audit-csv', '/home/pm/audit.csv');
    click('#audit-csv-run');
    await settle();
    expect(sent('export_audit_csv')[0].args).toEqual({
      filter: { user: null, recording: null, request: 'r1', from: null, to: null, searched_for: null },
      file: '/home/pm/audit.csv',
    });
    expect(text('#audit-csv-result')).toBe('42 entries written to /home/pm/audit.csv');
  });
});

describe('users screen', () => {
  const users: UserRow[] = [
    { name: 'lee.carter', roles: ['staff'], telephony_ids: ['101', 'Reception 1'], disabled: false },
    { name: 'dr.tom.okafor', roles: ['clinician'], telephony_ids: ['202'], disabled: true },
  ];

  it('lists users and adds one, clearing the password', async () => {
    ipc((cmd) => (cmd === 'users' ? users : null));
    component = mount(Users, { target, props: { user: me(['admin']) } });
    await settle();
    const lee = $('#users-list tr[data-user="lee.carter"]')!;
    expect(lee.textContent).toContain('Staff');
    expect(lee.textContent).toContain('101, Reception 1');
    expect(lee.textContent).toContain('Active');
    expect($('#users-list tr[data-user="dr.tom.okafor"]')!.getAttribute('data-disabled')).toBe('true');

    input('#new-user-name', ' sam.patel ');
    check('[data-new-role="supervisor"]');
    check('[data-new-role="approver"]');
    input('#new-user-telephony', '103, Reception 2');
    input('#new-user-password', 'first-pass-123');
    click('#new-user-add');
    await settle();
    expect(sent('add_user')[0].args).toEqual({
      user: { name: 'sam.patel', roles: ['approver', 'supervisor'], telephony_ids: ['103', 'Reception 2'], password: 'first-pass-123' },
    });
    expect($<HTMLInputElement>('#new-user-password')!.value).toBe('');
    expect(text('#users-notice')).toContain('sam.patel added');
    expect(target.textContent).not.toContain('first-pass-123');
  });

  it('disables a user after confirming, and shows the core\'s refusals verbatim', async () => {
    ipc((cmd) => {
      if (cmd === 'users') return users;
      if (cmd === 'set_roles') throw { code: 'forbidden', message: 'not permitted: only an admin may change roles' };
      return null;
    });
    component = mount(Users, { target, props: { user: me(['admin']) } });
    await settle();
    click('[data-edit="lee.carter"]');
    flushSync();
    expect($<HTMLInputElement>('#user-editor [data-role="staff"]')!.checked).toBe(true);
    click('#user-disable');
    flushSync();
    expect(sent('update_user').length).toBe(0);
    click('#user-disable-confirm');
    await settle();
    expect(sent('update_user')[0].args).toEqual({ name: 'lee.carter', telephonyIds: null, disabled: true });

    input('#user-telephony', '101, 102 ,');
    click('#user-save-telephony');
    await settle();
    expect(sent('update_user')[1].args).toEqual({ name: 'lee.carter', telephonyIds: ['101', '102'], disabled: null });

    input('#user-new-password', 'new-pass-456');
    click('#user-reset-password');
    await settle();
    expect(sent('reset_password')[0].args).toEqual({ name: 'lee.carter', password: 'new-pass-456', recoveryCode: null });
    expect($<HTMLInputElement>('#user-new-password')!.value).toBe('');
    // The practice's recovery code is the data controller's to type, not an administrator's.
    expect($('#user-recovery-code')).toBeNull();

    check('#user-editor [data-role="clinician"]');
    click('#user-save-roles');
    await settle();
    expect(sent('set_roles')[0].args).toEqual({ name: 'lee.carter', roles: ['clinician', 'staff'] });
    const err = $('#users-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('only an admin may change roles');

    click('[data-edit="dr.tom.okafor"]');
    flushSync();
    click('#user-enable');
    await settle();
    expect(sent('update_user')[2].args).toEqual({ name: 'dr.tom.okafor', telephonyIds: null, disabled: false });
  });

  it('lets the data controller create the recovery key once, and says a reset she prepares waits for an administrator', async () => {
    let exists = false;
    ipc((cmd) => {
      if (cmd === 'users') return users;
      if (cmd === 'recovery_key_exists') return exists;
      if (cmd === 'create_recovery_key') {
        exists = true;
        return 'ABCDE-FGHJK-MNPQR-STVWX-YZ012';
      }
      if (cmd === 'reset_password') return false;
      return null;
    });
    component = mount(Users, { target, props: { user: me(['data-controller']) } });
    await settle();
    expect($('#recovery-key-missing')).not.toBeNull();
    click('#recovery-create');
    flushSync();
    expect(sent('create_recovery_key').length).toBe(0);
    click('#recovery-create-confirm');
    await settle();
    expect(text('#new-recovery-code')).toBe('ABCDE-FGHJK-MNPQR-STVWX-YZ012');
    click('#new-recovery-written');
    flushSync();
    expect(target.textContent).not.toContain('ABCDE-FGHJK');
    expect($('#recovery-key-present')).not.toBeNull();

    click('[data-edit="lee.carter"]');
    flushSync();
    // She changes no roles, extensions or accounts: only a password, with the code.
    expect($('#user-save-roles')).toBeNull();
    expect($('#user-disable')).toBeNull();
    input('#user-new-password', 'new-pass-789');
    input('#user-recovery-code', ' ABCDE-FGHJK-MNPQR-STVWX-YZ012 ');
    click('#user-reset-password');
    await settle();
    expect(sent('reset_password')[0].args).toEqual({
      name: 'lee.carter',
      password: 'new-pass-789',
      recoveryCode: 'ABCDE-FGHJK-MNPQR-STVWX-YZ012',
    });
    expect(text('#users-notice')).toContain("administrator's next logon");
    expect($<HTMLInputElement>('#user-recovery-code')!.value).toBe('');
    expect(target.textContent).not.toContain('ABCDE-FGHJK');
  });

  it('shows the archive keys and who left them, replaces one by hand, and says what a disablement rotated', async () => {
    let epoch = 2;
    ipc((cmd) => {
      if (cmd === 'users') return users;
      if (cmd === 'key_states')
        return [
          { key: 'metadata', what: 'metadata key', epoch, may_rotate: true, leavers: epoch === 2 ? ['dr.tom.okafor'] : [] },
          { key: 'admin', what: 'admin key', epoch: 1, may_rotate: true, leavers: [] },
        ];
      if (cmd === 'rotate_key') {
        epoch = 3;
        return 'The metadata key is now at epoch 3, given to pm.';
      }
      if (cmd === 'update_user')
        return ["The archive's metadata key was rotated (epoch 4) because lee.carter no longer hold(s) it: what is written from now on is locked to the new key"];
      return null;
    });
    component = mount(Users, { target, props: { user: me(['admin']) } });
    await settle();
    const row = () => $('#keys-table tr[data-key="metadata"]')!;
    expect(row().textContent).toContain('metadata key');
    expect(row().textContent).toContain('epoch 2');
    expect(row().textContent).toContain('dr.tom.okafor');
    click('#keys-table tr[data-key="metadata"] .rotate-key');
    await settle();
    expect(sent('rotate_key')[0].args).toEqual({ key: 'metadata' });
    expect(text('#users-notice')).toBe('The metadata key is now at epoch 3, given to pm.');
    expect(row().textContent).toContain('epoch 3');
    expect(row().textContent).toContain('nobody');

    click('[data-edit="lee.carter"]');
    flushSync();
    click('#user-disable');
    flushSync();
    click('#user-disable-confirm');
    await settle();
    expect(text('#users-notice')).toContain('lee.carter is disabled');
    expect(text('#users-notice')).toContain('metadata key was rotated (epoch 4)');
  });

  it('shows the recovery key only to the data controller', async () => {
    ipc((cmd) => (cmd === 'users' ? users : cmd === 'recovery_key_exists' ? false : null));
    component = mount(Users, { target, props: { user: me(['admin']) } });
    await settle();
    expect($('#recovery-key-panel')).toBeNull();
    expect(sent('recovery_key_exists').length).toBe(0);
  });

  it('assigns an unassigned call to a user', async () => {
    ipc((cmd) => (cmd === 'users' ? users : null));
    component = mount(Users, { target, props: { user: me(['supervisor']) } });
    await settle();
    // A supervisor sees who has which role, and changes no one.
    expect($('[data-edit="lee.carter"]')).toBeNull();
    input('#assign-recording', id(8));
    select('#assign-user', 'lee.carter');
    click('#assign-run');
    await settle();
    expect(sent('assign_recording')[0].args).toEqual({ id: id(8), user: 'lee.carter' });
  });
});

describe('import screen', () => {
  const file = (name: string, over: Partial<ImportFile> = {}): ImportFile => ({
    file: name,
    layout: 'freepbx',
    started_at: '2026-03-02T14:30:00Z',
    local_time: '2026-03-02 14:30:00',
    direction: 'inbound',
    direction_assumed: false,
    external_number: '07700900123',
    extension: '101',
    staff: null,
    mapped_user: 'lee.carter',
    parties: [],
    audio: 'pcm_mulaw 8000 Hz 1 ch 12.0 s',
    size: 96000,
    remarks: [],
    outcome: 'import',
    ...over,
  });

  const dry: ImportSummary = {
    layout: 'freepbx',
    tz: 'Europe/London',
    dry_run: true,
    imported: [],
    duplicates: [],
    rejected: [{ file: 'notes.txt', note: 'not a recording this layout understands' }],
    unassigned: 1,
    not_kept: 1,
    warnings: [],
    understood: [
      file('in-1.wav'),
      file('in-2.wav', { mapped_user: null, extension: '109', direction_assumed: true }),
      file('in-3.wav', { outcome: `duplicate of ${id(1)}` }),
    ],
  };
  const done: ImportSummary = {
    ...dry,
    dry_run: false,
    imported: [{ file: 'in-1.wav', note: id(10) }, { file: 'in-2.wav', note: id(11) }],
    duplicates: [{ file: 'in-3.wav', note: `already stored as ${id(1)}` }],
    understood: [],
  };

  it('checks the folder, then imports with progress and a report', async () => {
    let finish: (s: ImportSummary) => void = () => {};
    ipc((cmd, a) => {
      if (cmd === 'import_folder') return a.dryRun ? dry : new Promise<ImportSummary>((r) => (finish = r));
      return null;
    });
    component = mount(Import, { target, props: { user: me(['supervisor']) } });
    await settle();
    expect($<HTMLButtonElement>('#import-run')).toBeNull();
    input('#import-folder', '/srv/recordings');
    select('#import-layout', 'freepbx');
    click('#import-preview');
    await settle();
    expect(sent('import_folder')[0].args).toEqual({ folder: '/srv/recordings', layout: 'freepbx', dryRun: true, allowErased: false });
    expect(text('#import-summary')).toContain('2 calls would be imported, 1 duplicate, 1 refused, 1 unassigned, 1 not kept (do-not-record list)');
    const two = $('#import-understood tr[data-file="in-2.wav"]')!;
    expect(two.textContent).toContain('unassigned');
    expect(two.textContent).toContain('assumed');
    expect($('#import-understood tr[data-file="in-1.wav"]')!.textContent).toContain('lee.carter');
    expect($('#import-rejected tr[data-file="notes.txt"]')!.textContent).toContain('not a recording');
    const run = $<HTMLButtonElement>('#import-run')!;
    expect(run.textContent).toContain('Import 2 calls');
    expect(run.disabled).toBe(false);

    run.click();
    await settle();
    expect(sent('import_folder')[1].args).toEqual({ folder: '/srv/recordings', layout: 'freepbx', dryRun: false, allowErased: false });
    await emit('progress', { task: 'import', done: 1, total: 3 });
    await settle();
    const bar = $<HTMLProgressElement>('#import-progress')!;
    expect(bar.value).toBe(1);
    expect(bar.max).toBe(3);
    finish(done);
    await settle();
    expect($('#import-progress')).toBeNull();
    expect(text('#import-imported-count')).toBe('2');
    const rep = $('#import-report')!;
    expect(rep.textContent).toContain(`already stored as ${id(1)}`);
    expect(rep.textContent).toContain('not a recording this layout understands');
    expect(rep.querySelector('a[href="#/users"]')).not.toBeNull();
    expect(text('#import-not-kept')).toContain('1 call was not kept');
    expect($('#import-dnr-warnings')).toBeNull();
  });

  it('sends auto as no layout and shows the core\'s refusal', async () => {
    ipc((cmd) => {
      if (cmd === 'import_folder') throw { code: 'forbidden', message: 'not permitted: import needs the admin, supervisor or data-controller role' };
      return null;
    });
    component = mount(Import, { target, props: { user: me(['staff']) } });
    await settle();
    input('#import-folder', '/srv/recordings');
    click('#import-preview');
    await settle();
    expect(sent('import_folder')[0].args).toEqual({ folder: '/srv/recordings', layout: null, dryRun: true, allowErased: false });
    expect(text('#import-error')).toContain('import needs the admin, supervisor or data-controller role');
  });
});
