//! TCP: `serve` answers connections with the host name, `fetch` connects
//! and prints what it reads. Together they show whether two containers (or
//! a container and the host) can reach each other, and, through the host
//! name in the answer, which container answered.
//!
//! Names are looked up in /etc/hosts only, read here: the usual resolver
//! (getaddrinfo) needs glibc's NSS modules, which a static binary lacks.

use crate::{out, sys};
use serde_json::json;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// How long `fetch` waits to connect, and then for each read.
const TIMEOUT: Duration = Duration::from_secs(5);

/// `probe serve PORT [COUNT]`: listens on 0.0.0.0:PORT and writes
/// "<hostname>\n" to each connection, COUNT times (or forever). Port 0
/// picks a free port, and the `listening` line says which.
pub fn serve(port: u16, count: Option<u64>) -> u8 {
    // Rust's TcpListener sets SO_REUSEADDR before binding.
    let listener = match TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)) {
        Ok(listener) => listener,
        Err(err) => return out::fail(&err, json!({ "port": port })),
    };
    let port = listener.local_addr().map_or(port, |address| address.port());
    out::line(&json!({ "listening": port }));
    let answer = format!("{}\n", sys::hostname().unwrap_or_default());
    let mut served: u64 = 0;
    while count.is_none_or(|count| served < count) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                // A client that hangs up early is its own problem.
                let _ = stream.write_all(answer.as_bytes());
                served += 1;
            }
            Err(err) if is_transient(&err) => continue,
            Err(err) => return out::fail(&err, json!({ "port": port, "served": served })),
        }
    }
    out::finish(json!({ "ok": true, "served": served }))
}

/// Accept errors that concern one connection, not the listener.
fn is_transient(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// `probe fetch HOST:PORT`: connects, reads until EOF, prints the body.
pub fn fetch(host: &str, port: u16) -> u8 {
    let Some(ip) = resolve(host) else {
        return out::refuse(json!({
            "ok": false, "error": format!("unknown host {host}"), "errno": null,
            "address": format!("{host}:{port}"),
        }));
    };
    let address = SocketAddr::from((ip, port));
    match read_all(&address) {
        Ok(body) => out::finish(json!({
            "ok": true, "address": address.to_string(), "body": String::from_utf8_lossy(&body),
        })),
        Err(err) => out::fail(&err, json!({ "address": address.to_string() })),
    }
}

fn read_all(address: &SocketAddr) -> io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect_timeout(address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut body = Vec::new();
    match stream.read_to_end(&mut body) {
        // A read timeout shows as EAGAIN; say what it means.
        Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
            Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
        }
        Err(err) => Err(err),
        Ok(_) => Ok(body),
    }
}

/// An IPv4 address as given, or the first IPv4 address /etc/hosts lists for
/// the name.
fn resolve(host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse() {
        return Some(ip);
    }
    lookup(&sys::read_text("/etc/hosts")?, host)
}

/// Finds `name` in hosts(5) text: `address name [aliases…]  # comment`.
/// Names match without regard to case; IPv6 lines are skipped.
pub fn lookup(hosts: &str, name: &str) -> Option<Ipv4Addr> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let ip: Ipv4Addr = fields.next()?.parse().ok()?;
        fields
            .any(|field| field.eq_ignore_ascii_case(name))
            .then_some(ip)
    })
}

#[cfg(test)]
mod tests {
    use super::lookup;
    use std::net::Ipv4Addr;

    const HOSTS: &str = "\
# a comment naming web 10.0.0.9
127.0.0.1\tlocalhost
::1 localhost ip6-localhost
10.0.0.2  web web.local  # the server
10.0.0.3  db
";

    #[test]
    fn finds_names_and_aliases() {
        assert_eq!(lookup(HOSTS, "localhost"), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(lookup(HOSTS, "web.local"), Some(Ipv4Addr::new(10, 0, 0, 2)));
        assert_eq!(lookup(HOSTS, "DB"), Some(Ipv4Addr::new(10, 0, 0, 3)));
    }

    #[test]
    fn ignores_comments_and_ipv6() {
        assert_eq!(lookup(HOSTS, "ip6-localhost"), None);
        assert_eq!(lookup(HOSTS, "naming"), None);
        assert_eq!(lookup(HOSTS, "nowhere"), None);
    }
}
