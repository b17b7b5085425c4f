//! Issue 17, item 8: the insider who plants hostile files in the archive folder. Every member of
//! staff can write to the share; each test here is what one of them could do with their own tools
//! (`std::fs` on the archive folder: links, named pipes, oversized or misnamed files, forged logon
//! markers, a garbage lock), and asserts that nothing is written through a link, nothing hangs or
//! exhausts memory, each planted file is refused and named, and everyone else goes on working.

use callvault_core::archive::journal::Direction;
use callvault_core::archive::Archive;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::retention::lock;
use callvault_core::secret::Password;
use callvault_core::session::{self, KdfChoice, SearchQuery, Session};
use callvault_core::{users, Error};
use callvault_testkit::demo::{speechlike, wav_pcm16};
use chrono::Utc;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DC: (&str, &str) = ("dee.controller", "dc-pass-1234");
const SUP: (&str, &str) = ("stu.supervisor", "sup-pass-1234");
const STAFF: (&str, &str) = ("ria.reception", "staff-pass-1234");

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let w = World { archive, tmp };
        session::init_in(
            &w.archive,
            &w.dev("pc"),
            DC.0,
            &Password::new(DC.1),
            KdfChoice::Fast,
        )
        .await
        .unwrap();
        let mut s = w.as_(DC, "pc").await;
        s.add_user(SUP.0, &[Role::Supervisor], &[], &Password::new(SUP.1))
            .await
            .unwrap();
        s.add_user(
            STAFF.0,
            &[Role::Staff],
            &["101".into()],
            &Password::new(STAFF.1),
        )
        .await
        .unwrap();
        s.close().await;
        w
    }
    fn dev(&self, name: &str) -> PathBuf {
        self.tmp.path().join("devices").join(name)
    }
    async fn logon(&self, u: (&str, &str), device: &str) -> Result<Session, Error> {
        Session::logon_in(&self.archive, &self.dev(device), u.0, &Password::new(u.1)).await
    }
    async fn as_(&self, u: (&str, &str), device: &str) -> Session {
        self.logon(u, device)
            .await
            .unwrap_or_else(|e| panic!("{} should log on at {device}: {e}", u.0))
    }
    fn uid(&self, name: &str) -> String {
        users::uid_for(&Archive::open(&self.archive).unwrap(), name).unwrap()
    }
    fn at(&self, rel: &str) -> PathBuf {
        let p = self.archive.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        p
    }
}

fn call(seed: u32, party: &str) -> CallSource {
    CallSource {
        name: format!("call{seed}.wav"),
        bytes: wav_pcm16(8000, &speechlike(8000, 2, seed)),
        started_at: Utc::now() - chrono::Duration::days(3),
        direction: Direction::Inbound,
        staff: None,
        extension: Some("101".into()),
        external_number: Some(format!("07700 900{seed:03}")),
        parties: vec![party.into()],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

fn object(id: &str) -> String {
    format!("rec/{}/{id}.cva", &id[..2])
}

fn peaks(id: &str) -> String {
    format!("rec/{}/{id}.cvp", &id[..2])
}

async fn ids(s: &Session) -> Vec<String> {
    let mut v: Vec<String> = s
        .search(&SearchQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    v.sort();
    v
}

/// The last journal segment's number on a device.
fn last_seq(w: &World, device: &str) -> u64 {
    std::fs::read_dir(w.archive.join("journal").join(device))
        .unwrap()
        .filter_map(|e| {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            u64::from_str_radix(n.strip_suffix(".cvj")?.get(..16)?, 16).ok()
        })
        .max()
        .unwrap()
}

/// The number of files in a device's audit chain.
fn audit_files(w: &World, device: &str) -> u64 {
    std::fs::read_dir(w.archive.join("audit").join(device))
        .unwrap()
        .count() as u64
}

/// A named pipe at `p`: opening it to read would wait for a writer for ever.
#[cfg(unix)]
fn fifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

/// Ends the test process if the test hangs (a planted pipe opened would block for ever).
struct Watchdog(std::sync::mpsc::Sender<()>);

fn watchdog(what: &'static str) -> Watchdog {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            rx.recv_timeout(Duration::from_secs(300))
        {
            eprintln!("{what}: still running after 5 minutes (hung on a planted file?)");
            std::process::exit(101);
        }
    });
    Watchdog(tx)
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

fn warned(s: &Session, rel: &str, what: &str) {
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains(rel) && w.contains(what)),
        "no warning about {rel} ({what}): {:#?}",
        s.warnings
    );
}

fn named(problems: &[callvault_core::audit::Problem], rel: &str, what: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.object.ends_with(rel) && p.reason.contains(what)),
        "{rel} ({what}) not named: {problems:#?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_routine_deletion_never_writes_through_a_planted_link_nor_shreds_another_object() {
    let _w = watchdog("deletion through planted links");
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    let rep = dc
        .import_sources(vec![
            call(1, "Ann Example"),
            call(2, "Bob Example"),
            call(3, "Cat Example"),
        ])
        .await
        .unwrap();
    let id: Vec<String> = rep.imported.iter().map(|i| i.id.clone()).collect();
    dc.close().await;
    // The maintainer's own files, outside the archive (any file they can write would do).
    let notes = w.tmp.path().join("maintainer-notes.txt");
    let notes_text = b"the practice manager's private notes\n".repeat(4000);
    std::fs::write(&notes, &notes_text).unwrap();
    let rota = w.tmp.path().join("rota.xlsx");
    std::fs::write(&rota, b"PK rota").unwrap();
    // The insider replaces call 1's audio and peaks by links to them...
    std::fs::remove_file(w.at(&object(&id[0]))).unwrap();
    std::os::unix::fs::symlink(&notes, w.at(&object(&id[0]))).unwrap();
    std::fs::remove_file(w.at(&peaks(&id[0]))).unwrap();
    std::os::unix::fs::symlink(&rota, w.at(&peaks(&id[0]))).unwrap();
    // ...and call 2's audio by a hard link to call 3's (a genuine object, under the wrong name).
    std::fs::remove_file(w.at(&object(&id[1]))).unwrap();
    std::fs::hard_link(w.at(&object(&id[2])), w.at(&object(&id[1]))).unwrap();
    let third = std::fs::read(w.at(&object(&id[2]))).unwrap();
    // A routine deletion of calls 1 and 2.
    let mut dc = w.as_(DC, "pc").await;
    dc.delete(&[id[0].clone(), id[1].clone()], "no longer needed")
        .await
        .unwrap();
    // Nothing was written through the links: the maintainer's files and call 3 are whole.
    assert_eq!(std::fs::read(&notes).unwrap(), notes_text);
    assert_eq!(std::fs::read(&rota).unwrap(), b"PK rota");
    assert_eq!(std::fs::read(w.at(&object(&id[2]))).unwrap(), third);
    // The planted names are gone, and the maintainer is told.
    for rel in [object(&id[0]), peaks(&id[0]), object(&id[1])] {
        assert!(w.archive.join(&rel).symlink_metadata().is_err(), "{rel}");
    }
    warned(&dc, &object(&id[0]), "a link");
    warned(&dc, &peaks(&id[0]), "a link");
    warned(&dc, &object(&id[1]), "another object");
    // Call 3 is still there, and verifies (its audio decrypts and matches its hash).
    assert_eq!(ids(&dc).await, vec![id[2].clone()]);
    let v = dc.verify().await.unwrap();
    assert!(
        !v.problems.iter().any(|p| p.object.contains(&id[2])),
        "{:#?}",
        v.problems
    );
    assert_eq!(v.recordings_decrypted, 1);
    dc.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn pipes_links_and_oversized_files_are_refused_by_name_and_the_rest_still_works() {
    let _w = watchdog("planted pipes, links and oversized files");
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    let pc = dc.device_id().to_string();
    let rep = dc
        .import_sources(vec![call(1, "Ann Example")])
        .await
        .unwrap();
    let first = rep.imported[0].id.clone();
    dc.close().await;
    let fake = |n: u8| format!("{n:02x}").repeat(16);
    // Journal: a pipe as the DC's next segment; /dev/zero and a 65 MiB (sparse) file as other
    // devices' first segments.
    let next = format!("journal/{pc}/{:016x}.cvj", last_seq(&w, &pc) + 1);
    fifo(&w.at(&next));
    let zero_seg = format!("journal/{}/0000000000000000.cvj", fake(1));
    std::os::unix::fs::symlink("/dev/zero", w.at(&zero_seg)).unwrap();
    let big_seg = format!("journal/{}/0000000000000000.cvj", fake(2));
    std::fs::File::create(w.at(&big_seg))
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    // Audit: a pipe as the newest file of the DC's own chain; /dev/zero and an oversized file as
    // the newest of other chains.
    let audit_next = format!("audit/{pc}/{:016x}.cvl", audit_files(&w, &pc));
    fifo(&w.at(&audit_next));
    let zero_audit = format!("audit/{}/0000000000000000.cvl", fake(3));
    std::os::unix::fs::symlink("/dev/zero", w.at(&zero_audit)).unwrap();
    let big_audit = format!("audit/{}/0000000000000000.cvl", fake(4));
    std::fs::File::create(w.at(&big_audit))
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // A user record: a pipe as the supervisor's newest version.
    let sup_rec = format!("users/{}/99999999.cvu", w.uid(SUP.0));
    fifo(&w.at(&sup_rec));

    // A new computer: the data controller logs on, every planted file named, none read.
    let mac = w.as_(DC, "mac").await;
    warned(&mac, &next, "not a regular file");
    warned(&mac, &zero_seg, "a link");
    warned(&mac, &big_seg, "more than the 65536 KiB");
    warned(&mac, &audit_next, "not a regular file");
    warned(&mac, &zero_audit, "a link");
    warned(&mac, &big_audit, "more than");
    warned(&mac, &sup_rec, "not a regular file");
    assert_eq!(ids(&mac).await, vec![first.clone()]);
    mac.close().await;
    // On the computer whose chain and journal hold the pipes, logon, audit and import go on.
    let mut dc = w.as_(DC, "pc").await;
    let rep = dc
        .import_sources(vec![call(2, "Bob Example")])
        .await
        .unwrap();
    assert_eq!(rep.imported.len(), 1);
    assert_eq!(ids(&dc).await.len(), 2);
    // Verification names each planted file and reads none of them.
    let v = dc.verify().await.unwrap();
    named(&v.problems, &next, "not a regular file");
    named(&v.problems, &zero_seg, "a link");
    named(&v.problems, &big_seg, "more than");
    named(&v.problems, &sup_rec, "not a regular file");
    let a = dc.verify_audit().await.unwrap();
    named(&a.problems, &audit_next, "not a regular file");
    named(&a.problems, &zero_audit, "a link");
    named(&a.problems, &big_audit, "more than");
    dc.close().await;
    // Reception logs on and searches their own calls.
    let staff = w.as_(STAFF, "pc").await;
    assert_eq!(ids(&staff).await.len(), 2);
    staff.close().await;
    // The supervisor, whose own record is the pipe, is refused with the file named (no password
    // is tried against a record that cannot be read).
    let Err(e) = w.logon(SUP, "pc").await else {
        panic!("the supervisor logged on past an unreadable record");
    };
    assert!(
        e.to_string().contains(&sup_rec) && e.to_string().contains("not a regular file"),
        "{e}"
    );
    // Once someone removes it, they log on again.
    std::fs::remove_file(w.at(&sup_rec)).unwrap();
    w.as_(SUP, "pc").await.close().await;
}

#[tokio::test]
async fn files_where_folders_belong_and_huge_sequence_numbers_stop_nobody() {
    let _w = watchdog("files in place of folders");
    let w = World::new().await;
    let mut dc = w.as_(DC, "pc").await;
    let pc = dc.device_id().to_string();
    dc.import_sources(vec![call(1, "Ann Example")])
        .await
        .unwrap();
    dc.close().await;
    let hex = "5a".repeat(16);
    // A regular file named like a device's audit chain, and like a device's journal.
    std::fs::write(w.at(&format!("audit/{hex}")), b"not a folder").unwrap();
    std::fs::write(w.at(&format!("journal/{hex}")), b"not a folder").unwrap();
    // Sequence numbers no device will ever reach: counting up to them would never end, and one
    // more than the largest overflows.
    let far_seg = format!("journal/{pc}/7fffffffffffffff.cvj");
    std::fs::write(w.at(&far_seg), b"").unwrap();
    let last_audit = format!("audit/{pc}/ffffffffffffffff.cvl");
    std::fs::write(w.at(&last_audit), b"").unwrap();
    for (u, dev) in [(DC, "pc"), (DC, "mac"), (STAFF, "pc"), (SUP, "laptop")] {
        let t = Instant::now();
        let s = w.as_(u, dev).await;
        assert!(t.elapsed() < Duration::from_secs(60));
        if u == DC || u == STAFF {
            assert_eq!(ids(&s).await.len(), 1);
        }
        if dev == "mac" {
            warned(&s, &format!("audit/{hex}"), "a file where a folder");
            warned(&s, &format!("journal/{hex}"), "a file where a folder");
            warned(&s, &far_seg, "unexpected file");
        }
        s.close().await;
    }
    let mut dc = w.as_(DC, "pc").await;
    let v = dc.verify().await.unwrap();
    named(
        &v.problems,
        &format!("journal/{hex}"),
        "a file where a folder",
    );
    named(&v.problems, &far_seg, "unexpected file");
    let a = dc.verify_audit().await.unwrap();
    named(
        &a.problems,
        &format!("audit/{hex}"),
        "a file where a folder",
    );
    named(&a.problems, &last_audit, "unexpected file");
    dc.close().await;
}

/// Write a logon marker as any member of staff could: `auth/<uid>/<kind>-<ms>-<rand>`, empty.
fn marker(w: &World, uid: &str, kind: char, ms: i64, n: u32) {
    std::fs::write(w.at(&format!("auth/{uid}/{kind}-{ms:013}-{n:08x}")), b"").unwrap();
}

#[tokio::test]
async fn future_dated_logon_markers_neither_lock_anyone_out_nor_disable_lockout() {
    let w = World::new().await;
    let year_ahead = Utc::now().timestamp_millis() + 365 * 24 * 3600 * 1000;
    // Five failures dated a year ahead, against the data controller (the admin): still logs on.
    let dc = w.uid(DC.0);
    for n in 0..5 {
        marker(&w, &dc, 'f', year_ahead + n as i64, n);
    }
    w.as_(DC, "pc").await.close().await;
    w.as_(DC, "mac").await.close().await;
    // A success and a reset dated a year ahead, for reception: five real failures still lock.
    let staff = w.uid(STAFF.0);
    marker(&w, &staff, 's', year_ahead, 100);
    marker(&w, &staff, 'r', year_ahead, 101);
    for i in 0..4 {
        let r = w.logon((STAFF.0, "wrong-password"), "pc").await;
        assert!(matches!(r, Err(Error::BadLogon)), "attempt {i}: {r:?}");
    }
    let r = w.logon((STAFF.0, "wrong-password"), "pc").await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    let r = w.logon(STAFF, "mac").await;
    assert!(matches!(r, Err(Error::Locked { .. })), "{r:?}");
    // And the lockout is counted by the clock of the computer asked, directly too.
    let a = Archive::open(&w.archive).unwrap();
    let now = Utc::now().timestamp_millis();
    assert!(users::locked_until(&a, &staff, now).unwrap().is_some());
    assert_eq!(users::locked_until(&a, &dc, now).unwrap(), None);
}

#[tokio::test]
async fn a_garbage_or_planted_maintenance_lock_ends_in_an_error_within_the_wait() {
    let w = World::new().await;
    let a = Archive::open(&w.archive).unwrap();
    let lock_file = w.at(lock::PATH);
    let take = |wait_ms: u64| {
        let t = Instant::now();
        let r = lock::acquire(
            &a,
            "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0",
            "maintainer",
            chrono::Duration::minutes(15),
            Duration::from_millis(wait_ms),
        );
        (r.map(|_| ()), t.elapsed())
    };
    // Garbage: an error naming the lock file after the wait, not a spin.
    std::fs::write(&lock_file, b"\x00\x01 not json").unwrap();
    let (r, took) = take(1000);
    let e = r.unwrap_err().to_string();
    assert!(
        e.contains("maintenance.lock") && e.contains("unreadable"),
        "{e}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
    std::fs::remove_file(&lock_file).unwrap();
    // A link to /dev/zero, or a pipe: the same, never read.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/dev/zero", &lock_file).unwrap();
        let (r, took) = take(500);
        assert!(r.unwrap_err().to_string().contains("unreadable"));
        assert!(took < Duration::from_secs(10), "{took:?}");
        std::fs::remove_file(&lock_file).unwrap();
        fifo(&lock_file);
        let (r, took) = take(500);
        assert!(r.unwrap_err().to_string().contains("unreadable"));
        assert!(took < Duration::from_secs(10), "{took:?}");
        std::fs::remove_file(&lock_file).unwrap();
    }
    // Stale locks that keep coming back (an insider's loop): taken over a few times, then the wait
    // runs out with an error; never an endless loop.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let lock_file = lock_file.clone();
        std::thread::spawn(move || {
            let stale = br#"{"token":"t","device":"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee","user":"u","at":"2000-01-01T00:00:00Z","lease_until":"2000-01-01T00:15:00Z"}"#;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::write(&lock_file, stale);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let (r, took) = take(1000);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    assert!(took < Duration::from_secs(10), "{took:?}");
    if let Err(e) = r {
        let e = e.to_string();
        assert!(e.contains("maintenance.lock"), "{e}");
    }
    // Once the share is clean, the lock is taken and released as ever.
    let _ = std::fs::remove_file(&lock_file);
    let (r, _) = take(1000);
    r.unwrap();
    assert!(!lock_file.exists());
}
