//! The completeness check's own work at scale (a figure, not a test): a call log of N rows read
//! from a file and matched against N recordings, as `Session::check_completeness` does after its
//! one index query. Two logs: FreePBX (each row names its recording: matched by file name) and
//! 3CX (no file names: matched by number and time). 1% of the answered calls have no recording
//! and 1% of the recordings no row; the log's times are the practice's wall clock (British Summer
//! Time from 29 March). Prints the median of 3 runs of each step, the peak memory of
//! the process, and the log's size (compare `cp` and `wc -l` of the same file, which
//! scripts/bench-completeness times beside it).
//!
//! ```sh
//! cargo run --release -p callvault-core --example completeness_bench -- 1000000 /tmp/dir
//! ```

use callvault_core::completeness::{cdr, findings, match_calls, StoredCall};
use chrono::{DateTime, Duration, Utc};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map_or(0.0, |k| k / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = a.first().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let dir = Path::new(a.get(1).map(String::as_str).unwrap_or("/tmp"));
    std::fs::create_dir_all(dir).unwrap();
    let t0: DateTime<Utc> = "2026-01-05T08:00:00Z".parse().unwrap();
    // A call every 20 s through surgery hours, numbers from Ofcom's drama range.
    let start = |i: usize| t0 + Duration::seconds(i as i64 * 20);
    let number = |i: usize| format!("07700{:06}", 900_000 + (i * 7919) % 1000);
    let file = |i: usize| {
        let t = start(i);
        format!(
            "in-01632960000-{}-{}-{}.{i}.wav",
            number(i),
            t.format("%Y%m%d-%H%M%S"),
            t.timestamp()
        )
    };
    let mut stored = Vec::with_capacity(n);
    for i in 0..n {
        if i % 100 == 1 {
            continue; // answered, never recorded
        }
        stored.push(StoredCall {
            id: format!("{i:032x}"),
            start: start(i) + Duration::seconds(4),
            duration_ms: 60_000,
            source_name: format!("2026/01/05/{}", file(i)),
            number: Some(number(i)),
            extension: Some("201".into()),
        });
    }
    let free = dir.join("freepbx.csv");
    let three = dir.join("3cx.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&free).unwrap());
        let mut g = std::io::BufWriter::new(std::fs::File::create(&three).unwrap());
        writeln!(f, "calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,disposition,duration,billsec,uniqueid,recordingfile").unwrap();
        writeln!(
            g,
            "Call ID,Call Time,From,To,Direction,Status,Ringing,Talking"
        )
        .unwrap();
        for i in 0..n {
            if i % 100 == 2 {
                continue; // recorded, not in the log
            }
            // The phone system's wall clock: the practice's.
            let t = start(i).with_timezone(&chrono_tz::Europe::London);
            let rec = if i % 100 == 1 { String::new() } else { file(i) };
            writeln!(
                f,
                "{},\"Patient {i}\" <{}>,{},600,from-trunk,PJSIP/trunk-{i:08x},PJSIP/201-{i:08x},Dial,ANSWERED,64,60,{}.{i},{rec}",
                t.format("%Y-%m-%d %H:%M:%S"),
                number(i),
                number(i),
                start(i).timestamp()
            )
            .unwrap();
            writeln!(
                g,
                "{i:08},{},{},201,Inbound,Answered,00:00:04,00:01:00",
                t.format("%d/%m/%Y %H:%M:%S"),
                number(i)
            )
            .unwrap();
        }
    }
    let tz = chrono_tz::Europe::London;
    for (name, path) in [("freepbx", &free), ("3cx", &three)] {
        let size = std::fs::metadata(path).unwrap().len();
        let (mut read, mut matched) = (vec![], vec![]);
        let mut counts = (0, 0, 0);
        for _ in 0..3 {
            let t = Instant::now();
            let log = cdr::read(path, None, tz, None, None).expect("log");
            read.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let m = match_calls(&log.calls, &stored);
            let f = findings(&log.calls, &stored, &m);
            matched.push(t.elapsed().as_secs_f64());
            counts = (log.calls.len(), m.call_of.len(), f.len());
        }
        let (r, m) = (median(read), median(matched));
        println!(
            "{name}\t{n}\t{:.1} MB\tread {r:.2} s ({:.0} rows/s)\tmatch {m:.2} s\ttotal {:.2} s\tcalls {}\tmatched {}\tfindings {}\tpeak {:.0} MiB",
            size as f64 / 1e6,
            n as f64 / r,
            r + m,
            counts.0,
            counts.1,
            counts.2,
            peak_rss_mib()
        );
    }
}
