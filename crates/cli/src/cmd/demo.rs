//! Made-up archives and benchmarks: `callvault demo` (a small demo archive of invented users and
//! calls, or with --realistic a large one for benchmarks), and the hidden `bench-search` and
//! `bench-decode` that scripts/bench runs.

use crate::args::{Cli, DemoArgs};
use crate::logon::{archive_dir, kdf_choice, logon};
use crate::print::print_json;
use crate::{CliResult, Failure};
use callvault_core::Role;

pub async fn demo(cli: &Cli, a: &DemoArgs) -> CliResult {
    if a.realistic {
        realistic(cli, a).await
    } else {
        small(cli, a).await
    }
}

/// `demo --realistic`: the benchmark archive (or, with --files-only, its plain files).
async fn realistic(cli: &Cli, a: &DemoArgs) -> CliResult {
    let DemoArgs {
        calls,
        kdf,
        tiny,
        seed,
        files_only,
        json,
        ..
    } = a;
    let opts = callvault_testkit::bench_gen::GenOptions {
        calls: *calls,
        seed: *seed,
        audio: if *tiny {
            callvault_testkit::bench_gen::Audio::Tiny
        } else {
            callvault_testkit::bench_gen::Audio::Speech
        },
    };
    let start = std::time::Instant::now();
    if let Some(dir) = files_only {
        let bytes = callvault_testkit::bench_gen::write_files(dir, &opts)?;
        println!(
            "{} calls ({:.1} MB of audio) and manifest.csv written to {} in {:.2} s",
            calls,
            bytes as f64 / 1e6,
            dir.display(),
            start.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let root = archive_dir(cli)?;
    let r = callvault_testkit::bench_gen::create(&root, opts, kdf_choice(kdf)?, |done, total| {
        eprint!(
            "\r{done} of {total} calls imported ({:.0} calls/s)",
            done as f64 / start.elapsed().as_secs_f64()
        );
    })
    .await?;
    eprintln!();
    if *json {
        print_json(&r);
    } else {
        println!(
            "Realistic archive at {}: {} calls imported ({} duplicates, {} rejected), {:.1} MB of audio; \
             {:.1} s generating, {:.1} s importing ({:.0} calls/s)",
            root.display(),
            r.imported,
            r.duplicates,
            r.rejected,
            r.audio_bytes as f64 / 1e6,
            r.generate_seconds,
            r.import_seconds,
            r.imported as f64 / r.import_seconds.max(1e-9)
        );
    }
    Ok(())
}

/// `demo`: the demo archive with its sample work in progress (calls only with --clip-secs).
async fn small(cli: &Cli, a: &DemoArgs) -> CliResult {
    let DemoArgs {
        calls,
        kdf,
        clip_secs,
        json,
        ..
    } = a;
    let root = archive_dir(cli)?;
    let r =
        callvault_testkit::demo::create_with(&root, *calls, kdf_choice(kdf)?, *clip_secs).await?;
    // A benchmark archive (--clip-secs) is calls only; the demo shows work in progress.
    if clip_secs.is_none() {
        callvault_testkit::demo::sample_workflow(&root, *calls).await?;
        callvault_testkit::demo::transferred_call(&root).await?;
    }
    if *json {
        print_json(&r);
    } else {
        println!(
            "Demo archive at {} with {} made-up calls{}. Users (all invented):",
            root.display(),
            r.imported,
            if clip_secs.is_none() {
                " and a transferred call (3 legs)"
            } else {
                ""
            }
        );
        for u in &r.users {
            let roles: Vec<&str> = u.roles.iter().map(Role::as_str).collect();
            println!(
                "  {:<14} password {:<18} {:<32} {}",
                u.name,
                u.password,
                roles.join(","),
                u.who
            );
        }
    }
    Ok(())
}

pub async fn bench_search(cli: &Cli, runs: usize, limit: i64, json: bool) -> CliResult {
    let s = logon(cli).await?;
    let r = callvault_testkit::bench_gen::search_bench(&s, runs, limit).await;
    s.close().await;
    let mut r = r?;
    r.push(callvault_testkit::bench_gen::audit_append_bench(
        &std::env::temp_dir(),
        runs.min(100),
    )?);
    if json {
        print_json(&r);
    } else {
        // Tab-separated, for scripts.
        println!("search\tresults\tp50_ms\tp95_ms\tp99_ms\tmax_ms\truns");
        for t in &r {
            println!(
                "{}\t{}\t{:.2}\t{:.2}\t{:.2}\t{:.2}\t{}",
                t.name, t.results, t.p50_ms, t.p95_ms, t.p99_ms, t.max_ms, t.runs
            );
        }
    }
    Ok(())
}

/// Decode a plain file (or, with `sealed`, the same bytes sealed as an audio object and read back
/// through the decrypting reader) block by block, as playback does; print the time taken.
pub fn bench_decode(file: &std::path::Path, sealed: bool, json: bool) -> CliResult {
    use callvault_core::archive::audio::{seal, DecryptingReader};
    use callvault_core::audio::decode::Decoder;
    use callvault_core::crypto;
    use callvault_core::secret::Key32;
    let name = file.display().to_string();
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let key = Key32::random();
    let sealed_bytes = if sealed {
        let data = std::fs::read(file).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
        Some(seal(
            &crypto::new_id(),
            65_536,
            &data,
            &[("custodian".to_string(), crypto::x25519_public(&key))],
        )?)
    } else {
        None
    };
    let start = std::time::Instant::now();
    let mut d = match sealed_bytes {
        Some(obj) => {
            let r = DecryptingReader::new(
                std::io::Cursor::new(obj),
                &[("custodian".to_string(), &key)],
                &name,
            )?;
            Decoder::open(r, ext.as_deref(), &name)?
        }
        None => {
            let f =
                std::fs::File::open(file).map_err(|e| Failure::Usage(format!("{name}: {e}")))?;
            Decoder::open(f, ext.as_deref(), &name)?
        }
    };
    let mut samples = 0usize;
    while let Some(b) = d.next_block()? {
        samples += b.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let audio_secs =
        samples as f64 / f64::from(d.channels().max(1)) / f64::from(d.sample_rate().max(1));
    if json {
        print_json(&serde_json::json!({
            "file": name, "codec": d.codec_name(), "sealed": sealed,
            "audio_seconds": audio_secs, "decode_seconds": secs,
        }));
    } else {
        println!(
            "{name}: {} {:.1} s of audio decoded{} in {secs:.3} s ({:.0}x real time)",
            d.codec_name(),
            audio_secs,
            if sealed {
                " through the decrypting reader"
            } else {
                ""
            },
            audio_secs / secs.max(1e-9)
        );
    }
    Ok(())
}
