// UI component tests with the IPC mocked (@tauri-apps/api/mocks): what each screen shows for what
// the core returns, including its refusals, without the app or an archive.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { called, ipc, settle, userInfo } from './harness';
import type { ApiError, DemoAccount, Recording, UserInfo } from '../src/bindings';
import Logon from '../src/screens/Logon.svelte';
import SearchScreen from '../src/screens/Search.svelte';
import CallPage from '../src/screens/CallPage.svelte';
import OpenArchive from '../src/screens/OpenArchive.svelte';
import { emit } from '@tauri-apps/api/event';
import { clearSearchState } from '../src/lib/searchState.svelte';

function rec(i: number, over: Partial<Recording> = {}): Recording {
  return {
    id: i.toString(16).padStart(32, '0'),
    started_at: `2026-03-${String((i % 28) + 1).padStart(2, '0')}T10:${String(i % 60).padStart(2, '0')}:00Z`,
    direction: i % 2 ? 'outbound' : 'inbound',
    staff: 'lee.carter',
    extension: '101',
    external_number: `07700 900${String(i % 1000).padStart(3, '0')}`,
    parties: ['Harriet Vale'],
    duration_s: 10 + (i % 50),
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
  clearSearchState();
});

function input(id: string, value: string) {
  const el = target.querySelector<HTMLInputElement>(`#${id}`)!;
  el.value = value;
  el.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('logon screen', () => {
  const demo: DemoAccount[] = [{ name: 'jordan.reid', password: 'jordan-demo-2026', who: 'Practice Business Manager', roles: ['approver', 'supervisor'] }];

  it('shows the demo users in demo mode and fills the form from one', async () => {
    ipc((cmd) => (cmd === 'demo_info' ? demo : null));
    component = mount(Logon, { target, props: { locked: false, demo: true, archive: '/a', onloggedon: () => {}, onchangearchive: () => {} } });
    await settle();
    expect(target.textContent).toContain('Practice Business Manager');
    target.querySelector<HTMLButtonElement>('[data-demo-user="jordan.reid"]')!.click();
    flushSync();
    expect(target.querySelector<HTMLInputElement>('#user')!.value).toBe('jordan.reid');
    expect(target.querySelector<HTMLInputElement>('#password')!.value).toBe('jordan-demo-2026');
  });

  it('does not ask for demo users outside demo mode, and shows nothing personal when locked', async () => {
    ipc(() => demo);
    component = mount(Logon, { target, props: { locked: true, demo: false, archive: '/a', onloggedon: () => {}, onchangearchive: () => {} } });
    await settle();
    expect(called('demo_info').length > 0).toBe(false);
    expect(target.textContent).toContain('Callvault is locked');
    expect(target.textContent).not.toContain('/a');
  });

  it('passes on the core\'s failed-logon and lockout messages as worded', async () => {
    const errors: ApiError[] = [
      { code: 'bad_logon', message: 'logon failed: wrong user name or password' },
      { code: 'locked', message: 'account is locked after repeated failed logons; try again after 10:45' },
    ];
    let n = 0;
    ipc((cmd) => {
      if (cmd === 'logon') throw errors[n++];
      return [];
    });
    let user: UserInfo | null = null;
    component = mount(Logon, { target, props: { locked: false, demo: false, archive: '/a', onloggedon: (u: UserInfo) => (user = u), onchangearchive: () => {} } });
    input('user', 'jordan.reid');
    input('password', 'wrong-password');
    target.querySelector('form')!.requestSubmit();
    await settle();
    expect(target.querySelector('#logon-error')!.textContent).toContain('logon failed: wrong user name or password');
    expect(target.querySelector<HTMLInputElement>('#password')!.value).toBe('');
    input('password', 'wrong-again');
    target.querySelector('form')!.requestSubmit();
    await settle();
    const msg = target.querySelector('#logon-error')!.textContent!;
    expect(msg).toContain('Account locked');
    expect(msg).toContain('try again after 10:45');
    expect(user).toBeNull();
    expect(called('logon')[0].args).toEqual({ user: 'jordan.reid', password: 'wrong-password' });
  });
});

describe('logon progress', () => {
  it('shows how far the first index build has got while logging on', async () => {
    let finish: (u: UserInfo) => void = () => {};
    ipc((cmd) => (cmd === 'logon' ? new Promise<UserInfo>((r) => (finish = r)) : null));
    let user: UserInfo | null = null;
    component = mount(Logon, { target, props: { locked: false, demo: false, archive: '/a', onloggedon: (u: UserInfo) => (user = u), onchangearchive: () => {} } });
    await settle();
    input('user', 'jordan.reid');
    input('password', 'jordan-demo-2026');
    target.querySelector('form')!.requestSubmit();
    await settle();
    await emit('progress', { task: 'index', done: 640, total: 1563 });
    await settle();
    expect(target.querySelector('#logon-progress')!.textContent).toContain('640 of 1563');
    finish(userInfo('jordan.reid', ['supervisor']));
    await settle();
    expect(user).not.toBeNull();
    expect(target.querySelector('#logon-progress')).toBeNull();
  });
});

describe('open archive screen', () => {
  it('takes a folder from the system picker', async () => {
    ipc((cmd) => (cmd === 'plugin:dialog|open' ? '/srv/practice/callvault' : null));
    component = mount(OpenArchive, { target, props: { current: null, onopened: () => {} } });
    target.querySelector<HTMLButtonElement>('#choose-folder')!.click();
    await settle();
    expect(called('plugin:dialog|open')[0].args.options).toMatchObject({ directory: true, multiple: false });
    expect(target.querySelector<HTMLInputElement>('#archive-path')!.value).toBe('/srv/practice/callvault');
  });

  it('asks for share credentials only for a share, where the system lets the app sign in', async () => {
    let opened = '';
    ipc((cmd, a) => (cmd === 'open_archive' ? a.path : null));
    component = mount(OpenArchive, { target, props: { current: null, shareSignIn: true, onopened: (p: string) => (opened = p) } });
    input('archive-path', '/srv/callvault');
    flushSync();
    expect(target.querySelector('#share-user')).toBeNull();
    input('archive-path', '\\\\files01\\practice\\callvault');
    flushSync();
    input('share-user', 'PRACTICE\\pm');
    input('share-password', 'share-pass');
    target.querySelector('form')!.requestSubmit();
    await settle();
    expect(called('open_archive')[0].args).toEqual({
      path: '\\\\files01\\practice\\callvault',
      login: { user: 'PRACTICE\\pm', password: 'share-pass', remember: true },
    });
    expect(opened).toBe('\\\\files01\\practice\\callvault');
    expect(target.querySelector<HTMLInputElement>('#share-password')!.value).toBe('');
  });

  it('never offers share sign-in where the system mounts shares itself', async () => {
    ipc(() => null);
    component = mount(OpenArchive, { target, props: { current: '\\\\files01\\practice', shareSignIn: false, onopened: () => {} } });
    flushSync();
    expect(target.querySelector('#share-user')).toBeNull();
  });
});

describe('search screen', () => {
  it('restores this user\'s remembered criteria, remembers new ones and forgets them on Clear', async () => {
    ipc((cmd) => {
      if (cmd === 'search_filters') return { number: '07700 900123', staff: '101', limit: 250, min_duration_s: 5 };
      if (cmd === 'search') return [rec(1)];
      return null;
    });
    component = mount(SearchScreen, { target });
    await settle();
    expect(target.querySelector<HTMLInputElement>('#q-number')!.value).toBe('07700 900123');
    expect(target.querySelector<HTMLInputElement>('#q-staff')!.value).toBe('101');
    expect(target.querySelector<HTMLInputElement>('#q-min')!.value).toBe('5');
    input('q-party', 'Vale');
    target.querySelector('form')!.requestSubmit();
    await settle();
    const saved = called('save_search_filters')[0].args.query as Record<string, unknown>;
    expect(saved).toMatchObject({ number: '07700 900123', staff: '101', party: 'Vale', limit: 250, min_duration_s: 5 });
    target.querySelector<HTMLButtonElement>('button.secondary[type="button"]')!.click();
    await settle();
    expect(called('save_search_filters').at(-1)!.args.query).toBeNull();
  });

  it('sends every criterion and shows the results, sortable', async () => {
    const rows = [rec(1, { duration_s: 30 }), rec(2, { duration_s: 5 }), rec(3, { duration_s: 12 })];
    ipc((cmd) => (cmd === 'search' ? rows : null));
    component = mount(SearchScreen, { target });
    input('q-from', '2026-03-01');
    input('q-to', '2026-03-31');
    input('q-number', '07700 900001');
    input('q-staff', '101');
    input('q-party', 'Vale');
    input('q-min', '4');
    input('q-max', '60');
    input('q-text', 'prescription');
    input('q-nhs', '999 000 0018');
    const dir = target.querySelector<HTMLSelectElement>('#q-direction')!;
    dir.selectedIndex = 1;
    dir.dispatchEvent(new Event('change', { bubbles: true }));
    target.querySelector('form')!.requestSubmit();
    await settle();
    expect(called('search')[0].args.query).toEqual({
      from: '2026-03-01', to: '2026-03-31', number: '07700 900001', staff: '101', party: 'Vale',
      direction: 'inbound', min_duration_s: 4, max_duration_s: 60, text: 'prescription', nhs_number: '999 000 0018', limit: 1000,
    });
    expect(target.querySelector('#result-count')!.textContent).toBe('3');
    target.querySelector<HTMLButtonElement>('[data-sort="duration_s"]')!.click();
    flushSync();
    const ids = () => [...target.querySelectorAll('[data-id]')].map((e) => e.getAttribute('data-id'));
    expect(ids()).toEqual([rows[0].id, rows[2].id, rows[1].id]);
    target.querySelector<HTMLButtonElement>('[data-sort="duration_s"]')!.click();
    flushSync();
    expect(ids()).toEqual([rows[1].id, rows[2].id, rows[0].id]);
  });

  it('renders only the rows in view of 100,000 results', async () => {
    const rows = Array.from({ length: 100_000 }, (_, i) => rec(i));
    ipc((cmd) => (cmd === 'search' ? rows : null));
    component = mount(SearchScreen, { target });
    target.querySelector('form')!.requestSubmit();
    await settle();
    expect(target.querySelector('#result-count')!.textContent).toBe('100000');
    const rendered = target.querySelectorAll('[data-id]').length;
    expect(rendered).toBeGreaterThan(0);
    expect(rendered).toBeLessThan(50);
  });

  it('shows the core\'s refusal', async () => {
    ipc(() => {
      throw { code: 'forbidden', message: 'not permitted: your roles reach no recordings (admin alone does not)' };
    });
    component = mount(SearchScreen, { target });
    target.querySelector('form')!.requestSubmit();
    await settle();
    expect(target.querySelector('#search-error')!.textContent).toContain('your roles reach no recordings');
  });
});

describe('call page', () => {
  const r = rec(7, { consent: 'caller objected; recording stopped at 00:12' });

  it('shows the details and consent mark, and plays with the stated reason', async () => {
    ipc((cmd) => {
      if (cmd === 'show') return r;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [[-10, 10], [-100, 90]] };
      if (cmd === 'play') return { recording: r.id, request: null, duration_ms: 17000, speed: 1, volume: 1 };
      return null;
    });
    component = mount(CallPage, { target, props: { id: r.id } });
    await settle();
    expect(target.querySelector('#consent')!.textContent).toContain('caller objected');
    expect(target.querySelector('#call-number')!.textContent).toBe(r.external_number);
    input('reason', 'checking my own call');
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    expect(called('play')[0].args).toEqual({ id: r.id, request: null, reason: 'checking my own call', wholeConversation: false });
    expect(target.querySelector('#position')!.textContent).toContain('0:17');
  });

  it('offers the approved request that covers the call, chosen, and plays under it', async () => {
    const approval = { id: 'a'.repeat(32), purpose: 'complaint', approved_by: 'dr.priya.shah', expires_at: '2026-12-06T17:00:00Z' };
    ipc((cmd) => {
      if (cmd === 'show') return r;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'approvals_for') return [approval];
      if (cmd === 'play') return { recording: r.id, request: approval.id, duration_ms: 17000, speed: 1, volume: 1 };
      return null;
    });
    component = mount(CallPage, { target, props: { id: r.id } });
    await settle();
    const choice = target.querySelector<HTMLInputElement>(`#request input[data-request-id='${approval.id}']`)!;
    expect(choice.checked).toBe(true);
    expect(choice.parentElement!.textContent).toContain('Complaint');
    expect(choice.parentElement!.textContent).toContain('approved by dr.priya.shah');
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    expect(called('approvals_for')[0].args).toEqual({ id: r.id });
    expect(called('play')[0].args).toEqual({ id: r.id, request: approval.id, reason: null, wholeConversation: false });
  });

  it("keeps the link's request and the user's own choice", async () => {
    const approval = { id: 'b'.repeat(32), purpose: 'training', approved_by: 'jordan.reid', expires_at: null };
    const linked = 'C'.repeat(32);
    let release: (v: unknown) => void = () => {};
    const later = new Promise((res) => (release = res));
    ipc(async (cmd) => {
      if (cmd === 'show') return r;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'approvals_for') {
        await later;
        return [approval];
      }
      if (cmd === 'play') return { recording: r.id, request: null, duration_ms: 17000, speed: 1, volume: 1 };
      return null;
    });
    // From a link naming a request that no longer lets her listen: it stays chosen and offered.
    component = mount(CallPage, { target, props: { id: r.id, requestId: linked } });
    release(null);
    await settle();
    const fromLink = target.querySelector<HTMLInputElement>(`#request input[data-request-id='${linked.toLowerCase()}']`)!;
    expect(fromLink.checked).toBe(true);
    target.querySelector<HTMLInputElement>(`#request input[data-request-id='${approval.id}']`)!.click();
    await settle();
    expect(target.querySelector(`#request input[data-request-id='${linked.toLowerCase()}']`)).not.toBeNull();
    unmount(component);
    component = null;

    // Play pressed before the list arrives (her own call, with a reason): the list does not
    // switch her onto an approval afterwards.
    let release2: (v: unknown) => void = () => {};
    const later2 = new Promise((res) => (release2 = res));
    ipc(async (cmd) => {
      if (cmd === 'show') return r;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'approvals_for') {
        await later2;
        return [approval];
      }
      if (cmd === 'play') return { recording: r.id, request: null, duration_ms: 17000, speed: 1, volume: 1 };
      return null;
    });
    component = mount(CallPage, { target, props: { id: r.id } });
    await settle();
    input('reason', 'checking my own call');
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    release2(null);
    await settle();
    expect(target.querySelector<HTMLInputElement>('#request-none')!.checked).toBe(true);
    expect(called('play').at(-1)!.args).toEqual({ id: r.id, request: null, reason: 'checking my own call', wholeConversation: false });
  });

  it('shows the refusal to someone who needs an approved request', async () => {
    ipc((cmd) => {
      if (cmd === 'show') return r;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'play') throw { code: 'forbidden', message: `not permitted: recording ${r.id}: you were not a party to this call; listening needs an approved request (--request RID)` };
      return null;
    });
    component = mount(CallPage, { target, props: { id: r.id } });
    await settle();
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    const refused = target.querySelector('#play-refused')!.textContent!;
    expect(refused).toContain('You need an approved request to listen to this call');
    expect(refused).toContain('Raise one');
  });

  it("shows the patient's NHS number, and links and unlinks only for a user the core lets link", async () => {
    const linked = rec(8, { nhs_numbers: ['9990000018'] });
    let now = linked;
    ipc((cmd, a) => {
      if (cmd === 'show') return now;
      if (cmd === 'link_patient') {
        const l = a.link as { nhs_number: string; unlink: boolean };
        if (l.nhs_number.includes('17')) throw { code: 'invalid', message: 'NHS number: not an NHS number: its last digit does not match the check digit of the first nine' };
        now = { ...linked, nhs_numbers: l.unlink ? [] : [...linked.nhs_numbers, '9990000026'] };
        return null;
      }
      return null;
    });
    component = mount(CallPage, { target, props: { id: linked.id, mayLinkPatient: false } });
    await settle();
    expect(target.querySelector('#nhs-numbers')!.textContent).toContain('999 000 0018');
    expect(target.querySelector('#nhs-link')).toBeNull();
    expect(target.querySelector('[data-unlink]')).toBeNull();
    unmount(component);

    component = mount(CallPage, { target, props: { id: linked.id, mayLinkPatient: true } });
    await settle();
    input('nhs-link', '999 000 0017');
    flushSync();
    target.querySelector<HTMLButtonElement>('#nhs-link-save')!.click();
    await settle();
    expect(target.querySelector('#nhs-error')!.textContent).toContain('check digit');
    input('nhs-link', '999 000 0026');
    flushSync();
    target.querySelector<HTMLButtonElement>('#nhs-link-save')!.click();
    await settle();
    expect(called('link_patient').at(-1)!.args).toEqual({ link: { recording: linked.id, nhs_number: '999 000 0026', unlink: false } });
    expect(target.querySelector('[data-nhs="9990000026"]')).not.toBeNull();
    expect(target.querySelector('#nhs-error')).toBeNull();
    target.querySelector<HTMLButtonElement>('[data-unlink="9990000018"]')!.click();
    await settle();
    expect(called('link_patient').at(-1)!.args).toEqual({ link: { recording: linked.id, nhs_number: '9990000018', unlink: true } });
    expect(target.querySelector('#nhs-none')).not.toBeNull();
  });

  it('lists the legs of a transferred call and plays the whole conversation with a marker at each join', async () => {
    const legs = [rec(20), rec(21), rec(22)].map((x, i) => ({ id: x.id, started_at: x.started_at, duration_s: [10, 8, 6][i], staff: ['lee.carter', 'dr.priya.shah', null][i] }));
    const leg2 = rec(21, { conversation: { joined_by: 'phone-system', leg: 2, legs } });
    ipc((cmd, a) => {
      if (cmd === 'show') return leg2;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'play')
        return a.wholeConversation
          ? { recording: leg2.id, request: null, duration_ms: 24000, speed: 1, volume: 1, legs: legs.map((l) => l.id), joins_ms: [10000, 18000] }
          : { recording: leg2.id, request: null, duration_ms: 8000, speed: 1, volume: 1, legs: [], joins_ms: [] };
      return null;
    });
    component = mount(CallPage, { target, props: { id: leg2.id } });
    await settle();
    const panel = target.querySelector('#conversation')!;
    expect(panel.querySelector('h2')!.textContent).toContain('leg 2 of 3');
    const items = [...panel.querySelectorAll('li')];
    expect(items.map((li) => li.getAttribute('data-leg'))).toEqual(legs.map((l) => l.id));
    // The other legs are links to their own pages; this one is marked, not linked.
    expect(items[0].querySelector('a')!.getAttribute('href')).toBe(`#/call/${legs[0].id}`);
    expect(items[1].querySelector('a')).toBeNull();
    expect(items[1].getAttribute('aria-current')).toBe('true');
    expect(items[2].textContent).toContain('unassigned');
    const whole = target.querySelector<HTMLInputElement>('#whole-conversation')!;
    expect(whole.checked).toBe(true);
    expect(whole.parentElement!.textContent).toContain('3 legs, 0:24');
    input('reason', 'checking the transfer');
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    expect(called('play')[0].args).toEqual({ id: leg2.id, request: null, reason: 'checking the transfer', wholeConversation: true });
    const joins = [...target.querySelectorAll('#timeline .join')].map((j) => j.getAttribute('data-join-ms'));
    expect(joins).toEqual(['10000', '18000']);
    expect(target.querySelector('#timeline')!.textContent).toContain('leg 3, 0:18');
    expect(target.querySelector('#position')!.textContent).toContain('/ 0:24');
  });

  it('plays only this leg when the whole conversation is unticked', async () => {
    const legs = [rec(30), rec(31)].map((x) => ({ id: x.id, started_at: x.started_at, duration_s: 5, staff: null }));
    const leg1 = rec(30, { conversation: { joined_by: 'number-and-time', leg: 1, legs } });
    ipc((cmd) => {
      if (cmd === 'show') return leg1;
      if (cmd === 'waveform') return { window_ms: 10, peaks: [] };
      if (cmd === 'play') return { recording: leg1.id, request: null, duration_ms: 5000, speed: 1, volume: 1, legs: [], joins_ms: [] };
      return null;
    });
    component = mount(CallPage, { target, props: { id: leg1.id } });
    await settle();
    expect(target.querySelector('#conversation-how')!.textContent).toContain('same number');
    const whole = target.querySelector<HTMLInputElement>('#whole-conversation')!;
    whole.click();
    await settle();
    expect(target.querySelector('#timeline')).toBeNull();
    input('reason', 'my call');
    target.querySelector<HTMLButtonElement>('#play')!.click();
    await settle();
    expect(called('play')[0].args).toEqual({ id: leg1.id, request: null, reason: 'my call', wholeConversation: false });
  });

  it('shows "not found" for a call the user may not see', async () => {
    ipc(() => {
      throw { code: 'not_found', message: 'not found: recording abc: no such recording, or not one you may see' };
    });
    component = mount(CallPage, { target, props: { id: 'abc' } });
    await settle();
    expect(target.querySelector('#call-error')!.textContent).toContain('not one you may see');
  });
});
