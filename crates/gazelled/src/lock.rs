//! The single-instance lock: an exclusive lock on a file, held for the daemon's whole life.
//!
//! A lock, not a PID file: the kernel releases it when the process dies however it dies
//! (SIGKILL included), so a stale lock can never keep the daemon from starting, and a
//! recycled PID can never be mistaken for a running daemon.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::exit::Failure;

#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
    path: PathBuf,
}

impl InstanceLock {
    pub fn acquire(path: &Path) -> Result<InstanceLock, Failure> {
        let fail = |source| Failure::Lock {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            store::open::create_private_dir(dir).map_err(fail)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(Failure::AlreadyRunning(path.to_owned())),
            Err(TryLockError::Error(e)) => return Err(fail(e)),
        }
        // The PID is informative only (for a person reading the file); the lock is the truth.
        file.set_len(0).map_err(fail)?;
        writeln!(file, "{}", std::process::id()).map_err(fail)?;
        Ok(InstanceLock {
            _file: file,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}
