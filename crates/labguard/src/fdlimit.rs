//! Raising the open-file limit at start: every connection the listeners hold is a file
//! descriptor, and the usual soft limit (1,024) is below the HTTPS connection cap.

/// Raises the soft RLIMIT_NOFILE to the hard limit where the system allows it; a refusal
/// leaves the limit as it was (the caps still bound what the listeners hold).
#[cfg(unix)]
pub fn raise() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current == now.maximum {
        return;
    }
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        },
    );
}

#[cfg(not(unix))]
pub fn raise() {}
