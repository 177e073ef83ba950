//! A small SMTP server that keeps what it receives in memory: for tests and demos of
//! campaigns without a real mail server. It never relays anything.
//!
//! Per recipient it can be told to answer RCPT with an error (e.g. `451` a few times, then
//! accept) or to drop the connection once the message has been transferred, which is how the
//! tests exercise retries, give-ups and the at-most-once guarantee.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    /// The DATA section, dot-unstuffed.
    pub data: String,
}

impl Received {
    /// The message with quoted-printable soft line breaks and `=XX` escapes undone, so
    /// links can be searched for.
    pub fn decoded(&self) -> String {
        labguard_mail::decode_quoted_printable(&self.data)
    }
}

/// What to do for one recipient address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Answer RCPT with `reply` (e.g. "451 4.3.0 try later") this many times, then accept.
    RefuseRcpt { reply: String, times: u32 },
    /// Take the whole message, then close the connection without answering.
    DropAfterData,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    rules: HashMap<String, Rule>,
    connections: u32,
}

/// A running sink; it stops when the process ends (tests are short-lived).
#[derive(Clone)]
pub struct Sink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Sink {
    /// Listens on `127.0.0.1:0`.
    pub fn start() -> std::io::Result<Sink> {
        Sink::bind("127.0.0.1:0".parse().map_err(std::io::Error::other)?)
    }

    pub fn bind(addr: SocketAddr) -> std::io::Result<Sink> {
        let listener = TcpListener::bind(addr)?;
        let sink = Sink {
            addr: listener.local_addr()?,
            state: Arc::default(),
        };
        let state = sink.state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = state.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &state);
                });
            }
        });
        Ok(sink)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_rule(&self, address: &str, rule: Rule) {
        if let Ok(mut s) = self.state.lock() {
            s.rules.insert(address.to_ascii_lowercase(), rule);
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state
            .lock()
            .map(|s| s.received.clone())
            .unwrap_or_default()
    }

    /// Messages received for `address`.
    pub fn received_for(&self, address: &str) -> Vec<Received> {
        let a = address.to_ascii_lowercase();
        self.received()
            .into_iter()
            .filter(|m| m.rcpt_to.iter().any(|r| r.to_ascii_lowercase() == a))
            .collect()
    }

    pub fn connections(&self) -> u32 {
        self.state.lock().map(|s| s.connections).unwrap_or(0)
    }
}

fn angle(arg: &str) -> String {
    let a = arg.split_once(':').map_or(arg, |(_, v)| v).trim();
    let a = a.split_whitespace().next().unwrap_or("");
    a.trim_start_matches('<').trim_end_matches('>').to_string()
}

fn session(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    if let Ok(mut s) = state.lock() {
        s.connections += 1;
    }
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 labguard-sink ESMTP\r\n")?;
    let mut from = String::new();
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            out.write_all(b"250-labguard-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
        } else if upper.starts_with("HELO") {
            out.write_all(b"250 labguard-sink\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(cmd);
            rcpts.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            let to = angle(cmd);
            let refusal = match state.lock() {
                Ok(mut s) => match s.rules.get_mut(&to.to_ascii_lowercase()) {
                    Some(Rule::RefuseRcpt { reply, times }) if *times > 0 => {
                        *times -= 1;
                        Some(reply.clone())
                    }
                    _ => None,
                },
                Err(_) => Some("451 sink state".into()),
            };
            match refusal {
                Some(r) => out.write_all(format!("{r}\r\n").as_bytes())?,
                None => {
                    rcpts.push(to);
                    out.write_all(b"250 OK\r\n")?;
                }
            }
        } else if upper == "DATA" {
            if rcpts.is_empty() {
                out.write_all(b"503 no valid recipients\r\n")?;
                continue;
            }
            out.write_all(b"354 go ahead\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if input.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let drop_it = state.lock().is_ok_and(|s| {
                rcpts
                    .iter()
                    .any(|r| s.rules.get(&r.to_ascii_lowercase()) == Some(&Rule::DropAfterData))
            });
            if let Ok(mut s) = state.lock() {
                s.received.push(Received {
                    mail_from: from.clone(),
                    rcpt_to: rcpts.clone(),
                    data,
                });
            }
            if drop_it {
                return Ok(());
            }
            out.write_all(b"250 OK queued\r\n")?;
        } else if upper == "RSET" {
            rcpts.clear();
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "NOOP" {
            out.write_all(b"250 OK\r\n")?;
        } else if upper == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
}
