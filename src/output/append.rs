//! An append-only CSV file with a fixed header, created atomically and resumable.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why an output file cannot be used. Each message names the flag and the fix.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "{flag} {path} already exists; pass --resume to continue it or --force to overwrite it"
    )]
    Exists { flag: &'static str, path: PathBuf },
    #[error("{flag} {path} is a directory; name a file, such as {example}")]
    Directory {
        flag: &'static str,
        path: PathBuf,
        example: PathBuf,
    },
    #[error("{flag} {path}: cannot create a file in {dir}: {error}")]
    Create {
        flag: &'static str,
        path: PathBuf,
        dir: PathBuf,
        error: std::io::Error,
    },
    #[error("{flag} {path}: {error}")]
    Io {
        flag: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{flag} {path} has a different header than this lojasim writes (another version or \
         another kind of file); {fix}"
    )]
    Header {
        flag: &'static str,
        path: PathBuf,
        /// What to do instead: depends on whether the file was to be resumed or read.
        fix: &'static str,
    },
    #[error(
        "{flag} {path}, line {line}: {why}; the file was not written by this lojasim or was edited"
    )]
    Corrupt {
        flag: &'static str,
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("{flag} -: standard output cannot be resumed; give a file name")]
    StdoutResume { flag: &'static str },
}

/// What `--resume` found in an existing file.
#[derive(Debug, Default)]
pub struct Resumed {
    /// The complete rows, in file order.
    pub rows: Vec<Vec<String>>,
    /// Bytes of an incomplete last line that were dropped.
    pub dropped_bytes: usize,
}

enum Sink {
    Stdout,
    /// `special`: a device or pipe (e.g. /dev/null), which is written but cannot be synced.
    File {
        file: File,
        path: PathBuf,
        special: bool,
    },
}

/// A CSV file that only ever grows by whole rows.
pub struct AppendCsv {
    flag: &'static str,
    sink: Sink,
    last_sync: Instant,
}

const SYNC_EVERY: Duration = Duration::from_secs(1);

impl AppendCsv {
    /// Opens `path` (for flag `flag`, e.g. `--out`) before any work: `-` is standard output; an
    /// existing file is an error unless `force` (start afresh) or `resume` (keep its complete
    /// rows, returned, and append). The header is written at once.
    pub fn open(
        flag: &'static str,
        path: &Path,
        header: &[&str],
        force: bool,
        resume: bool,
    ) -> Result<(AppendCsv, Resumed), OutputError> {
        if path == Path::new("-") {
            if resume {
                return Err(OutputError::StdoutResume { flag });
            }
            let mut out = AppendCsv {
                flag,
                sink: Sink::Stdout,
                last_sync: Instant::now(),
            };
            out.append(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>())?;
            return Ok((out, Resumed::default()));
        }
        refuse_directory(flag, path)?;
        let io = |error| OutputError::Io {
            flag,
            path: path.to_path_buf(),
            error,
        };
        // A device stays a device (and a path that is not there yet becomes a regular file).
        let special = is_special_file(path);
        let resumed = if resume && path.exists() {
            Some(read_complete_rows(flag, path, header)?)
        } else {
            if path.exists() && !force && !special {
                return Err(OutputError::Exists {
                    flag,
                    path: path.to_path_buf(),
                });
            }
            create_with_header(flag, path, header, force)?;
            None
        };
        let file = OpenOptions::new().append(true).open(path).map_err(io)?;
        let out = AppendCsv {
            flag,
            sink: Sink::File {
                file,
                path: path.to_path_buf(),
                special,
            },
            last_sync: Instant::now(),
        };
        Ok((out, resumed.unwrap_or_default()))
    }

    /// Appends rows as one write of complete lines, and hands them to the operating system.
    pub fn append_all(&mut self, rows: &[Vec<String>]) -> Result<(), OutputError> {
        let mut buf = Vec::new();
        {
            let mut w = csv::Writer::from_writer(&mut buf);
            for row in rows {
                w.write_record(row).expect("writing to memory");
            }
            w.flush().expect("writing to memory");
        }
        match &mut self.sink {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&buf)
                    .and_then(|()| out.flush())
                    .map_err(|error| OutputError::Io {
                        flag: self.flag,
                        path: PathBuf::from("-"),
                        error,
                    })
            }
            Sink::File {
                file,
                path,
                special,
            } => {
                let io = |error| OutputError::Io {
                    flag: self.flag,
                    path: path.clone(),
                    error,
                };
                file.write_all(&buf).map_err(io)?;
                if !*special && self.last_sync.elapsed() >= SYNC_EVERY {
                    file.sync_data().map_err(io)?;
                    self.last_sync = Instant::now();
                }
                Ok(())
            }
        }
    }

    pub fn append(&mut self, row: &[String]) -> Result<(), OutputError> {
        self.append_all(std::slice::from_ref(&row.to_vec()))
    }

    /// Replaces the rows after the header by `rows` (atomically) and goes on appending.
    pub fn replace_rows(
        &mut self,
        header: &[&str],
        rows: &[Vec<String>],
    ) -> Result<(), OutputError> {
        let Sink::File { path, .. } = &self.sink else {
            return Ok(());
        };
        let path = path.clone();
        let mut buf = Vec::new();
        {
            let mut w = csv::Writer::from_writer(&mut buf);
            w.write_record(header).expect("writing to memory");
            for row in rows {
                w.write_record(row).expect("writing to memory");
            }
            w.flush().expect("writing to memory");
        }
        write_atomically(self.flag, &path, &buf, true)?;
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|error| OutputError::Io {
                flag: self.flag,
                path: path.clone(),
                error,
            })?;
        let special = is_special_file(&path);
        self.sink = Sink::File {
            file,
            path,
            special,
        };
        Ok(())
    }

    /// Syncs the file to disk.
    pub fn finish(self) -> Result<(), OutputError> {
        if let Sink::File {
            file,
            path,
            special: false,
        } = &self.sink
        {
            file.sync_all().map_err(|error| OutputError::Io {
                flag: self.flag,
                path: path.clone(),
                error,
            })?;
        }
        Ok(())
    }
}

/// The directory a file `path` is (or would be) in: "." for a bare file name.
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The file `path` names: its directory resolved (links, `..`), then its name; `None` if the
/// directory does not exist (opening the output reports that). Two spellings of one file give
/// the same destination.
pub fn destination(path: &Path) -> Option<PathBuf> {
    Some(
        directory_of(path)
            .canonicalize()
            .ok()?
            .join(path.file_name()?),
    )
}

/// A hidden temporary file beside the output file `path`, to be renamed over it. It is created
/// with the permissions of any new file (0666 less the umask), not tempfile's private 0600,
/// because it becomes the user's output file. An error names `flag`, `path` and its directory.
pub fn temp_file_beside(
    flag: &'static str,
    path: &Path,
) -> Result<tempfile::NamedTempFile, OutputError> {
    let dir = directory_of(path);
    let create = || {
        if !dir.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory",
            ));
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".lojasim-").suffix(".partial");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        builder.tempfile_in(dir)
    };
    create().map_err(|error| OutputError::Create {
        flag,
        path: path.to_path_buf(),
        dir: dir.to_path_buf(),
        error,
    })
}

/// Writes `lines` (complete CSV text) to `path` atomically: temporary file, sync, rename.
/// Without `overwrite`, an existing `path` is never replaced (even one created meanwhile).
pub fn write_atomically(
    flag: &'static str,
    path: &Path,
    text: &[u8],
    overwrite: bool,
) -> Result<(), OutputError> {
    let io = |error| OutputError::Io {
        flag,
        path: path.to_path_buf(),
        error,
    };
    // A device or pipe (`/dev/null`, a FIFO) is written in place: renaming a file over it would
    // replace the device itself with a regular file.
    if is_special_file(path) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(text))
            .map_err(io);
    }
    let mut temp = temp_file_beside(flag, path)?;
    temp.write_all(text).map_err(io)?;
    if overwrite {
        // A file being replaced (--force, a resume's rewrite) keeps the permissions its owner
        // gave it, as an editor's save would.
        if let Ok(meta) = std::fs::metadata(path) {
            temp.as_file()
                .set_permissions(meta.permissions())
                .map_err(io)?;
        }
    }
    temp.as_file().sync_all().map_err(io)?;
    let persisted = if overwrite {
        temp.persist(path)
    } else {
        temp.persist_noclobber(path)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            OutputError::Exists {
                flag,
                path: path.to_path_buf(),
            }
        } else {
            io(e.error)
        }
    })?;
    Ok(())
}

fn create_with_header(
    flag: &'static str,
    path: &Path,
    header: &[&str],
    overwrite: bool,
) -> Result<(), OutputError> {
    let mut text = header.join(",");
    text.push('\n');
    write_atomically(flag, path, text.as_bytes(), overwrite)
}

/// Reads the complete rows of an existing file, truncating an incomplete last line away.
fn read_complete_rows(
    flag: &'static str,
    path: &Path,
    header: &[&str],
) -> Result<Resumed, OutputError> {
    let io = |error| OutputError::Io {
        flag,
        path: path.to_path_buf(),
        error,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let dropped_bytes = bytes.len() - complete;
    let rows = parse_rows(
        flag,
        path,
        &bytes[..complete],
        header,
        "write to a new file or pass --force to overwrite it",
    )?;
    if dropped_bytes > 0 {
        OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|f| {
                f.set_len(complete as u64)?;
                f.sync_all()
            })
            .map_err(io)?;
    }
    Ok(Resumed {
        rows,
        dropped_bytes,
    })
}

/// Parses complete CSV lines whose first line must be `header`; every row must have its width.
/// `fix` ends the error for a file with another header.
pub fn parse_rows(
    flag: &'static str,
    path: &Path,
    text: &[u8],
    header: &[&str],
    fix: &'static str,
) -> Result<Vec<Vec<String>>, OutputError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    let mut records = reader.records();
    let header_ok = match records.next() {
        Some(Ok(h)) => h.iter().eq(header.iter().copied()),
        _ => false,
    };
    if !header_ok {
        return Err(OutputError::Header {
            flag,
            path: path.to_path_buf(),
            fix,
        });
    }
    records
        .enumerate()
        .map(|(i, r)| {
            let corrupt = |why: String| OutputError::Corrupt {
                flag,
                path: path.to_path_buf(),
                line: i + 2,
                why,
            };
            let r = r.map_err(|e| corrupt(e.to_string()))?;
            if r.len() != header.len() {
                return Err(corrupt(format!(
                    "{} fields where the header has {}",
                    r.len(),
                    header.len()
                )));
            }
            Ok(r.iter().map(str::to_string).collect())
        })
        .collect()
}

/// Refuses an output path that is an existing directory (which `--force` could not overwrite).
pub fn refuse_directory(flag: &'static str, path: &Path) -> Result<(), OutputError> {
    if path.is_dir() {
        return Err(OutputError::Directory {
            flag,
            path: path.to_path_buf(),
            example: path.join("results.csv"),
        });
    }
    Ok(())
}

/// Whether `path` exists and is neither a regular file nor a directory (a device, FIFO or socket):
/// such a target is written in place, never replaced.
pub fn is_special_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[&str] = &["a", "b"];

    fn row(a: &str, b: &str) -> Vec<String> {
        vec![a.to_string(), b.to_string()]
    }

    /// Output files get the permissions of any new file (0666 less the umask), like a file the
    /// user's shell would create, not the 0600 of a private temporary file.
    #[cfg(unix)]
    #[test]
    fn output_files_get_the_permissions_of_a_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let plain = dir.path().join("plain");
        File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic.csv");
        write_atomically("--out", &atomic, b"a\n", false).unwrap();
        let appended = dir.path().join("appended.csv");
        AppendCsv::open("--out", &appended, HEADER, false, false)
            .unwrap()
            .0
            .finish()
            .unwrap();
        assert_eq!(mode(&atomic), mode(&plain));
        // (Under a umask of 077 all three are 0600 and the test cannot tell; under 022 it can.)
        assert_eq!(mode(&appended), mode(&plain));
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically("--out", &path, b"new\n", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn a_missing_directory_is_named_without_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/x.csv");
        let e = write_atomically("--out", &path, b"a\n", false).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("--out ") && msg.contains("no such directory"),
            "{msg}"
        );
        assert!(!msg.contains(".partial"), "{msg}");
    }

    #[test]
    fn a_torn_last_line_is_dropped_and_truncated_on_resume() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        let (mut f, _) = AppendCsv::open("--out", &path, HEADER, false, false).unwrap();
        f.append(&row("1", "2")).unwrap();
        f.finish().unwrap();
        let mut raw = OpenOptions::new().append(true).open(&path).unwrap();
        raw.write_all(b"3,4").unwrap();
        drop(raw);
        let (mut f, resumed) = AppendCsv::open("--out", &path, HEADER, false, true).unwrap();
        assert_eq!(resumed.rows, vec![row("1", "2")]);
        assert_eq!(resumed.dropped_bytes, 3);
        f.append(&row("5", "6")).unwrap();
        f.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n1,2\n5,6\n");
    }

    #[test]
    fn existing_files_need_force_or_resume_and_headers_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "a,c\n1,2\n").unwrap();
        let e = AppendCsv::open("--out", &path, HEADER, false, false)
            .err()
            .unwrap();
        assert!(e.to_string().contains("--out") && e.to_string().contains("--resume"));
        let e = AppendCsv::open("--out", &path, HEADER, false, true)
            .err()
            .unwrap();
        assert!(matches!(e, OutputError::Header { .. }));
        std::fs::write(&path, "a,b\n1,2,3\n4,5\n").unwrap();
        let e = AppendCsv::open("--out", &path, HEADER, false, true)
            .err()
            .unwrap();
        assert!(e.to_string().contains("line 2: 3 fields"));
        AppendCsv::open("--out", &path, HEADER, true, false).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
