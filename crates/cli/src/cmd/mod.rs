//! The commands, one file per feature, and `run`, which sends each parsed command line to its
//! function. Each command logs on (if it needs to), asks the core, prints, and closes its session
//! whatever the outcome.

mod archive;
mod audit;
mod breach;
mod demo;
mod export;
mod import;
mod listen;
mod recordings;
mod requests;
mod retention;
mod users;
mod verify;

use crate::args::{CheckCmd, Cli, Cmd, IndexCmd, RetentionCmd};
use crate::CliResult;

pub async fn run(cli: Cli) -> CliResult {
    let cli = &cli;
    match &cli.cmd {
        Cmd::Init { admin, kdf } => archive::init(cli, admin, kdf).await,
        Cmd::Settings(sc) => archive::settings(cli, sc).await,
        Cmd::User(uc) => users::run(cli, uc).await,
        Cmd::Recovery(rc) => users::recovery(cli, rc).await,
        Cmd::Keys(k) => users::keys(cli, k).await,
        Cmd::Recover { name } => users::recover(cli, name).await,
        Cmd::Import(a) => import::import(cli, a).await,
        Cmd::IngestProfile(c) => import::export_profile(cli, c).await,
        Cmd::Ingest(a) => import::ingest(cli, a),
        Cmd::Search(a) => recordings::search(cli, a).await,
        Cmd::Show { id, json } => recordings::show(cli, id, *json).await,
        Cmd::Waveform { id } => recordings::waveform(cli, id).await,
        Cmd::Assign { id, staff } => recordings::assign(cli, id, staff).await,
        Cmd::DeliverKey { id, json } => recordings::deliver_key(cli, id.as_deref(), *json).await,
        Cmd::Mark {
            id,
            consent_objected: _,
            not_recorded,
            at,
            note,
        } => recordings::mark(cli, id, *not_recorded, at, note).await,
        Cmd::LinkPatient {
            id,
            nhs_number,
            unlink,
        } => recordings::link_patient(cli, id, nhs_number, *unlink).await,
        Cmd::Request(rc) => requests::run(cli, rc).await,
        Cmd::Authorize {
            id,
            right,
            request,
            reason,
            json,
        } => listen::authorize(cli, id, right, request, reason, *json).await,
        Cmd::Play(a) => listen::play(cli, a).await,
        Cmd::Devices => listen::devices(),
        Cmd::Export(ec) => export::run(cli, ec).await,
        Cmd::Dnr(dc) => archive::dnr(cli, dc).await,
        Cmd::Breach(bc) => breach::run(cli, bc).await,
        Cmd::Hold(hc) => retention::hold(cli, hc).await,
        Cmd::Delete {
            ids,
            reason,
            certificate_dir,
            json,
        } => retention::delete(cli, ids, reason, certificate_dir, *json).await,
        Cmd::Erase {
            request,
            certificate_dir,
            json,
        } => retention::erase(cli, request, certificate_dir, *json).await,
        Cmd::Retention(RetentionCmd::Run {
            dry_run,
            json,
            certificate_dir,
        }) => retention::run(cli, *dry_run, *json, certificate_dir).await,
        Cmd::Verify { json } => verify::verify(cli, *json).await,
        Cmd::Check(CheckCmd::Completeness {
            cdr,
            layout,
            from,
            to,
            tz,
            no_sound,
            json,
        }) => verify::completeness(cli, cdr, layout, (from, to), tz, !*no_sound, *json).await,
        Cmd::Index(IndexCmd::Rebuild) => verify::rebuild_index(cli).await,
        Cmd::Audit(ac) => audit::run(cli, ac).await,
        Cmd::Demo(a) => demo::demo(cli, a).await,
        Cmd::BenchSearch { runs, limit, json } => {
            demo::bench_search(cli, *runs, *limit, *json).await
        }
        Cmd::BenchDecode { file, sealed, json } => demo::bench_decode(file, *sealed, *json),
    }
}
