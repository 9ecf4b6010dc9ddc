//! Test harness shared by verify-tuf's and verify-cli's TUF tests: a real TUF
//! repository made by python-tuf (`tufrepo.py`), and a loopback HTTP mirror
//! that serves it, or misbehaves on request (endless bodies, huge declared
//! lengths, no answer at all).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "verify-tuf-{label}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../verify-tuf/tests/tufrepo.py")
}

/// A TUF repository on disk, edited by python-tuf.
pub struct TufRepo {
    dir: TempDir,
    targets: AtomicUsize,
}

/// Timestamp lifetime by default: one day, as Sigstore's is a few days.
pub const DAY: i64 = 86_400;

impl TufRepo {
    /// A new repository (root, targets, snapshot, timestamp v1) whose
    /// `trusted_root.json` target is `target`.
    pub fn init(target: &[u8]) -> Self {
        Self::init_with(target, DAY)
    }

    /// As [`TufRepo::init`], the timestamp expiring in `ts_expires` seconds.
    pub fn init_with(target: &[u8], ts_expires: i64) -> Self {
        let repo = Self {
            dir: TempDir::new("repo"),
            targets: AtomicUsize::new(0),
        };
        let file = repo.target_file(target);
        repo.run(&["init", &file, "--ts-expires", &ts_expires.to_string()]);
        repo
    }

    fn target_file(&self, bytes: &[u8]) -> String {
        let n = self.targets.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.path().join(format!("target-{n}.json"));
        std::fs::write(&path, bytes).expect("write target");
        path.display().to_string()
    }

    fn run(&self, args: &[&str]) {
        let mut all = vec![args[0], self.dir.path().to_str().expect("utf-8 path")];
        all.extend_from_slice(&args[1..]);
        let out = Command::new("python3")
            .arg(script())
            .args(&all)
            .output()
            .expect("python3 runs (scripts/setup.sh installs python-tuf)");
        assert!(
            out.status.success(),
            "tufrepo.py {all:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Publish a new `trusted_root.json` (targets, snapshot, timestamp +1).
    pub fn publish(&self, target: &[u8]) {
        let file = self.target_file(target);
        self.run(&["publish", &file]);
    }

    /// A new timestamp expiring in `ts_expires` seconds (negative: already
    /// expired), pinning the current snapshot or `snapshot_version`.
    pub fn timestamp(&self, ts_expires: i64, snapshot_version: Option<u64>) {
        let expires = ts_expires.to_string();
        let version = snapshot_version.map(|v| v.to_string());
        let mut args = vec!["timestamp", "--ts-expires", &expires];
        if let Some(v) = &version {
            args.extend(["--snapshot-version", v]);
        }
        self.run(&args);
    }

    /// Root version +1 with a new root key, signed by the old and new keys
    /// (or, with `only_new`, by the new key alone).
    pub fn rotate_root(&self, only_new: bool) {
        if only_new {
            self.run(&["rotate-root", "--only-new"]);
        } else {
            self.run(&["rotate-root"]);
        }
    }

    /// Change one byte of the served target (same length, wrong hash).
    pub fn tamper_target(&self) {
        self.run(&["tamper-target"]);
    }

    /// Delegate `registry.npmjs.org/*` to a role of that name with its own
    /// key, as Sigstore's repository does, and publish `keys` as its target
    /// `registry.npmjs.org/keys.json` (targets, snapshot, timestamp +1).
    pub fn add_npm_keys(&self, keys: &[u8]) {
        let file = self.target_file(keys);
        self.run(&["add-npm", &file]);
    }

    /// Change one byte of the served `registry.npmjs.org/keys.json`.
    pub fn tamper_npm_keys(&self) {
        self.run(&["tamper-target", "--target", "registry.npmjs.org/keys.json"]);
    }

    /// What a mirror serves.
    pub fn served(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The version 1 root, which clients start trust from.
    pub fn root_v1(&self) -> Vec<u8> {
        std::fs::read(self.served().join("1.root.json")).expect("1.root.json")
    }

    /// Copy what is served now to `to` (to serve an old state later).
    pub fn copy_served(&self, to: &Path) {
        copy_dir(&self.served(), to);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

/// How the mirror answers.
#[derive(Clone, Debug)]
pub enum Mode {
    /// Serve files from this directory (404 for the rest).
    Serve(PathBuf),
    /// 200 with no length, then bytes until the client hangs up.
    Endless,
    /// 200 declaring a 5 GB body, then bytes until the client hangs up.
    HugeLength,
    /// Read the request and never answer.
    Hang,
}

/// A loopback HTTP/1.1 mirror on 127.0.0.1:0.
pub struct Mirror {
    url: String,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// Most bytes an endless answer sends before the server gives up by itself.
const ENDLESS_CAP: u64 = 4 << 30;

impl Mirror {
    pub fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let mode = Arc::new(Mutex::new(mode));
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (m, r, s) = (Arc::clone(&mode), Arc::clone(&requests), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let mode = m.lock().expect("mode").clone();
                let (r, s) = (Arc::clone(&r), Arc::clone(&s));
                std::thread::spawn(move || serve(stream, &mode, &r, &s));
            }
        });
        Self {
            url,
            mode,
            requests,
            stop,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().expect("mode") = mode;
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
}

impl Drop for Mirror {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.url.trim_start_matches("http://"));
    }
}

/// A URL where nothing listens (the mirror is down).
pub fn down_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    url
}

fn serve(stream: TcpStream, mode: &Mode, requests: &AtomicUsize, stop: &AtomicBool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
        }
    }
    requests.fetch_add(1, Ordering::Relaxed);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let mut out = stream;
    match mode {
        Mode::Serve(dir) => {
            let rel = path.trim_start_matches('/');
            let file = (!rel.contains("..")).then(|| dir.join(rel));
            match file.and_then(|f| std::fs::read(f).ok()) {
                Some(body) => {
                    let _ = write!(
                        out,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = out.write_all(&body);
                }
                None => {
                    let _ = out.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                }
            }
        }
        Mode::Endless | Mode::HugeLength => {
            let header = if matches!(mode, Mode::HugeLength) {
                "HTTP/1.1 200 OK\r\nContent-Length: 5000000000\r\nConnection: close\r\n\r\n"
            } else {
                "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
            };
            if out.write_all(header.as_bytes()).is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < ENDLESS_CAP && !stop.load(Ordering::Relaxed) {
                if out.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len() as u64;
            }
        }
        Mode::Hang => {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(30) && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    let _ = out.flush();
}

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
