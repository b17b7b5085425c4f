// Component tests of setting up and looking after the archive (a new archive, the archive checks,
// ingest profiles, re-importing deleted audio) with the IPC mocked: what each shows for what the
// core returns, its refusals, and the arguments sent.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { called, ipc, settle, userInfo } from './harness';
import type { ArchiveCheck, ImportSummary, Role, UserInfo } from '../src/bindings';
import OpenArchive from '../src/screens/OpenArchive.svelte';
import Audit from '../src/screens/Audit.svelte';
import Users from '../src/screens/Users.svelte';
import Import from '../src/screens/Import.svelte';

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
const value = (sel: string) => $<HTMLInputElement>(sel)!.value;

function input(sel: string, v: string) {
  const el = $<HTMLInputElement>(sel)!;
  el.value = v;
  el.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

function click(sel: string) {
  $<HTMLButtonElement>(sel)!.click();
  flushSync();
}

const me = (roles: Role[]): UserInfo => userInfo('jordan.reid', roles);

describe('starting a new archive', () => {
  function fill(password: string, again: string) {
    input('#new-archive-path', ' /srv/share/callvault ');
    input('#new-practice-name', 'Riverside Medical Practice');
    input('#new-admin', 'jordan.reid');
    input('#new-password', password);
    input('#new-password-again', again);
  }

  it('creates it with the right arguments, then opens it, and clears the passwords', async () => {
    let opened = '';
    let finish: (p: { folder: string; recovery_code: string }) => void = () => {};
    ipc((cmd) => (cmd === 'create_archive' ? new Promise((r) => (finish = r)) : null));
    component = mount(OpenArchive, { target, props: { current: null, onopened: (p: string) => (opened = p) } });
    expect($('#archive-path')).not.toBeNull();
    fill('long-enough-1', 'long-enough-1');
    click('#create-archive');
    await settle();
    expect(sent('create_archive')[0].args).toEqual({
      folder: ' /srv/share/callvault ',
      admin: 'jordan.reid',
      password: 'long-enough-1',
      practiceName: 'Riverside Medical Practice',
    });
    expect(sent('open_archive').length).toBe(0);
    expect(text('#create-progress')).toContain('Creating the archive… (about a second)');
    expect($<HTMLButtonElement>('#create-archive')!.disabled).toBe(true);
    expect(value('#new-password')).toBe('');
    expect(value('#new-password-again')).toBe('');
    finish({ folder: '/srv/share/callvault', recovery_code: 'K7Q2M-X9RTV-3HWNB-8CJDF-PZ4GY' });
    await settle();
    // The recovery code is shown once, before the archive opens.
    expect(opened).toBe('');
    expect(text('#recovery-code')).toBe('K7Q2M-X9RTV-3HWNB-8CJDF-PZ4GY');
    click('#recovery-written');
    await settle();
    expect($('#recovery-code')).toBeNull();
    expect(target.textContent).not.toContain('K7Q2M');
    expect(opened).toBe('/srv/share/callvault');
    expect($('#create-progress')).toBeNull();
    expect($('#create-error')).toBeNull();
  });

  it('does not send mismatched passwords, and shows the core\'s refusal', async () => {
    let opened = '';
    ipc((cmd) => {
      if (cmd === 'create_archive') throw { code: 'invalid', message: 'the folder is not empty: choose an empty folder' };
      return null;
    });
    component = mount(OpenArchive, { target, props: { current: null, onopened: (p: string) => (opened = p) } });
    fill('long-enough-1', 'long-enough-2');
    click('#create-archive');
    await settle();
    expect(sent('create_archive').length).toBe(0);
    let err = $('#create-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('not the same');
    expect(value('#new-password')).toBe('');
    expect(value('#new-password-again')).toBe('');

    fill('long-enough-1', 'long-enough-1');
    click('#create-archive');
    await settle();
    expect(sent('create_archive').length).toBe(1);
    err = $('#create-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('the folder is not empty');
    expect(opened).toBe('');
    expect(value('#new-password')).toBe('');
    expect(target.textContent).not.toContain('long-enough-1');
  });
});

describe('archive checks', () => {
  const intact: ArchiveCheck = {
    ok: true,
    objects_checked: 412,
    recordings_checked: 130,
    recordings_decrypted: 120,
    unreferenced: 2,
    superseded: 0,
    problems: [],
  };

  it('shows an intact archive, then its problems', async () => {
    let result: ArchiveCheck = intact;
    ipc((cmd) => (cmd === 'audit' ? [] : cmd === 'verify_archive' ? result : null));
    component = mount(Audit, { target, props: { user: me(['admin']) } });
    await settle();
    expect(text('#checks-title')).toBe('Archive checks');
    click('#archive-verify');
    expect(target.textContent).toContain('Checking… this reads the whole archive');
    await settle();
    let res = $('#archive-verify-result')!;
    expect(res.textContent).toContain('Intact: 412 objects and 130 recordings checked (120 decrypted and authenticated)');
    expect(res.textContent).toContain('2 leftover audio files from an interrupted import are ignored');
    expect(res.getAttribute('role')).toBe('status');

    result = { ...intact, ok: false, unreferenced: 0, problems: ['objects/ab/cd: signature does not verify'] };
    click('#archive-verify');
    await settle();
    res = $('#archive-verify-result')!;
    expect(res.getAttribute('role')).toBe('alert');
    expect(res.textContent).toContain('signature does not verify');
    expect(res.textContent).not.toContain('Intact');
  });

  it('rebuilds the index and says how many recordings; a failure says to log on again', async () => {
    let fails = false;
    ipc((cmd) => {
      if (cmd === 'audit') return [];
      if (cmd === 'rebuild_index') {
        if (fails) throw { code: 'io', message: 'the archive could not be read' };
        return 1563;
      }
      return null;
    });
    component = mount(Audit, { target, props: { user: me(['admin']) } });
    await settle();
    click('#index-rebuild');
    await settle();
    expect(sent('rebuild_index').length).toBe(1);
    expect(text('#index-rebuild-result')).toBe('Rebuilt: 1563 recordings');

    fails = true;
    click('#index-rebuild');
    await settle();
    const res = $('#index-rebuild-result')!;
    expect(res.getAttribute('role')).toBe('alert');
    expect(res.textContent).toContain('the archive could not be read');
    expect(res.textContent).toContain('log on again');
  });
});

describe('ingest machines', () => {
  it('writes a profile with the name and file chosen, and shows refusals in the screen\'s error', async () => {
    let refuse = false;
    ipc((cmd, a) => {
      if (cmd === 'users') return [];
      if (cmd === 'export_ingest_profile') {
        if (refuse) throw { code: 'forbidden', message: 'not permitted: only an admin may create an ingest identity' };
        return a.file;
      }
      return null;
    });
    component = mount(Users, { target, props: { user: me(['admin']) } });
    await settle();
    expect(text('#ingest-title')).toBe('Ingest machines');
    input('#ingest-name', ' ingest.pbx-server ');
    input('#ingest-file', '/home/pm/ingest.json');
    click('#ingest-export');
    await settle();
    expect(sent('export_ingest_profile')[0].args).toEqual({ name: 'ingest.pbx-server', file: '/home/pm/ingest.json' });
    expect(text('#ingest-result')).toBe('Profile written to /home/pm/ingest.json. Copy it to the ingest machine.');

    refuse = true;
    click('#ingest-export');
    await settle();
    const err = $('#users-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('only an admin may create an ingest identity');
    expect($('#ingest-result')).toBeNull();
  });
});

describe('re-importing deleted recordings', () => {
  const summary = (dry: boolean): ImportSummary => ({
    layout: 'freepbx',
    tz: 'Europe/London',
    dry_run: dry,
    imported: dry ? [] : [{ file: 'in-1.wav', note: 'a'.repeat(32) }],
    duplicates: [],
    rejected: [],
    unassigned: 0,
    not_kept: 0,
    warnings: [],
    understood: dry
      ? [
          {
            file: 'in-1.wav',
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
            audio: null,
            size: 96000,
            remarks: [],
            outcome: 'import',
          },
        ]
      : [],
  });

  it('passes allowErased to the check and the import', async () => {
    ipc((cmd, a) => (cmd === 'import_folder' ? summary(a.dryRun as boolean) : null));
    component = mount(Import, { target, props: { user: me(['data-controller']) } });
    await settle();
    input('#import-folder', '/srv/recordings');
    expect($<HTMLInputElement>('#import-allow-erased')!.checked).toBe(false);
    click('#import-allow-erased');
    click('#import-preview');
    await settle();
    expect(sent('import_folder')[0].args).toEqual({ folder: '/srv/recordings', layout: null, dryRun: true, allowErased: true });
    click('#import-run');
    await settle();
    expect(sent('import_folder')[1].args).toEqual({ folder: '/srv/recordings', layout: null, dryRun: false, allowErased: true });
    expect(text('#import-imported-count')).toBe('1');
  });

  it('shows the core\'s refusal for anyone but the data controller', async () => {
    ipc((cmd) => {
      if (cmd === 'import_folder') throw { code: 'forbidden', message: 'only the data controller may re-import deleted audio' };
      return null;
    });
    component = mount(Import, { target, props: { user: me(['supervisor']) } });
    await settle();
    input('#import-folder', '/srv/recordings');
    click('#import-allow-erased');
    click('#import-preview');
    await settle();
    expect(sent('import_folder')[0].args).toMatchObject({ allowErased: true, dryRun: true });
    const err = $('#import-error')!;
    expect(err.getAttribute('role')).toBe('alert');
    expect(err.textContent).toContain('only the data controller may re-import deleted audio');
  });
});
