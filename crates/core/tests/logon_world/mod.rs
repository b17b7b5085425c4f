//! The practice both logon test binaries start from (`logon.rs`, and the timing test
//! `logon_timing.rs`, which runs only with the feature `slow-tests`): a data controller and one
//! clinician, three devices.

use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, KdfChoice, Session};
use callvault_core::Error;
use std::path::{Path, PathBuf};

pub const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
pub const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");

pub struct World {
    _tmp: tempfile::TempDir,
    pub archive: PathBuf,
    pub dev: Vec<PathBuf>,
}

pub async fn world(kdf: KdfChoice) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let dev: Vec<PathBuf> = (0..3).map(|i| tmp.path().join(format!("dev{i}"))).collect();
    session::init_in(&archive, &dev[0], DC.0, &Password::new(DC.1), kdf)
        .await
        .unwrap();
    let mut s = logon(&archive, &dev[0], DC.0, DC.1).await.unwrap();
    s.add_user(
        CLIN.0,
        &[Role::Clinician],
        &["201".into()],
        &Password::new(CLIN.1),
    )
    .await
    .unwrap();
    s.close().await;
    World {
        _tmp: tmp,
        archive,
        dev,
    }
}

pub async fn logon(archive: &Path, dev: &Path, u: &str, p: &str) -> Result<Session, Error> {
    Session::logon_in(archive, dev, u, &Password::new(p)).await
}
