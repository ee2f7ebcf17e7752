//! `gazellectl logs [--follow] [-n LINES]`: the daemon's newest log file. Reads the files
//! directly, so it works when the daemon does not (which is when logs matter most).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::EXIT_FAILED;

fn newest_log(dir: &Path) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.starts_with("gazelled.")
                && name.ends_with(".log")
                && name.len() == "gazelled.2026-01-01.log".len()
        })
        .collect();
    // Daily files are named by date: the greatest name is the newest.
    files.sort();
    files.pop()
}

pub fn run(file: Option<&Path>, follow: bool, lines: usize) -> ExitCode {
    let config = match crate::load_config(file) {
        Ok(l) => l.config,
        Err(code) => return code,
    };
    let dir = config.paths.log_dir.as_path();
    let Some(path) = newest_log(dir) else {
        eprintln!(
            "gazellectl: no log file in {} yet (has gazelled run?)",
            dir.display()
        );
        return ExitCode::from(EXIT_FAILED);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gazellectl: cannot read {}: {e}", path.display());
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let all: Vec<&str> = text.lines().collect();
    for line in &all[all.len().saturating_sub(lines)..] {
        println!("{line}");
    }
    if !follow {
        return ExitCode::SUCCESS;
    }
    let mut position = text.len() as u64;
    let mut current = path;
    loop {
        std::thread::sleep(Duration::from_millis(500));
        // At midnight the daemon starts a new file: follow it.
        if let Some(newest) = newest_log(dir)
            && newest != current
        {
            current = newest;
            position = 0;
        }
        let Ok(mut f) = std::fs::File::open(&current) else {
            continue;
        };
        if f.seek(SeekFrom::Start(position)).is_err() {
            continue;
        }
        let mut more = String::new();
        if f.read_to_string(&mut more).is_ok() && !more.is_empty() {
            print!("{more}");
            position += more.len() as u64;
        }
    }
}
