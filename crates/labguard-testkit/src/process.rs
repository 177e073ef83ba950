//! Processes a test starts: the `labguard` binary, a `labguard serve`, load generators.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A TCP port free on 127.0.0.1 at the time of asking, and never one this process handed
/// out before: the kernel may give a just-released port again, and two servers of one test
/// (or of two tests running at once) must not be told the same one.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("an ephemeral port on 127.0.0.1")
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// A child process (a `labguard serve`, a load generator) killed and reaped when the test
/// ends, passing or failing, so no server outlives its test.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `labguard` binary at `exe` (pass `env!("CARGO_BIN_EXE_labguard")`), or the copy
/// `LABGUARD_TEST_BIN` pins: builds from other worktrees sharing the target dir can replace
/// the cargo-built one while tests run. The key and database the caller's shell may have
/// set are removed, so every test says where its data is.
pub fn labguard_command(exe: &str) -> Command {
    let exe = std::env::var("LABGUARD_TEST_BIN").unwrap_or_else(|_| exe.to_string());
    let mut c = Command::new(exe);
    c.env_remove("LABGUARD_KEK")
        .env_remove("LABGUARD_DATABASE_URL")
        .env_remove("LABGUARD_DATA_DIR");
    c
}

/// Spawns `serve` (a `labguard serve … --listen 127.0.0.1:{port}` command), waits for its
/// "serving https://" line and for `/health` to answer 200 (curl, bounded tries), and
/// returns it with its base URL.
pub fn spawn_serve(serve: Command, port: u16) -> (KillOnDrop, String) {
    spawn_serve_to(serve, port, Stdio::null())
}

/// [`spawn_serve`] with the server's log (its stderr) written to `log`, for tests that
/// read what it logged.
pub fn spawn_serve_logging(
    serve: Command,
    port: u16,
    log: &std::path::Path,
) -> (KillOnDrop, String) {
    let f = std::fs::File::create(log).expect("create the server log file");
    spawn_serve_to(serve, port, Stdio::from(f))
}

fn spawn_serve_to(mut serve: Command, port: u16, stderr: Stdio) -> (KillOnDrop, String) {
    let child = serve
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn labguard serve");
    let mut server = KillOnDrop(child);
    // The server prints its address once it is about to accept connections.
    let out = server.0.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(out).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(first.contains("serving https://"), "{first}");
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let base = format!("https://127.0.0.1:{port}");
    // Wait until it answers (bounded number of tries, no timing assertion; generous, as a
    // loaded CI machine can take seconds to start a debug build).
    for _ in 0..300 {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("labguard serve exited ({status}) before answering on port {port}");
        }
        if crate::https::status(&format!("{base}/health"), None) == 200 {
            return (server, base);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("labguard serve did not come up");
}
