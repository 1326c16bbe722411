//! `--serve`: a tiny, std-only HTTP file server for `target/book/`.
//!
//! mdBook's library has no server (that lives in the `mdbook` binary), and
//! the book needs little: GET of static files on 127.0.0.1, nothing outside
//! the output directory, and a rebuild when a source changed. Before it
//! answers a request for a page, the server compares the newest mtime under
//! `book/` and `solutions/` with the one of the last build, and rebuilds if
//! it moved. Reload the page in the browser to see an edit.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::files;

/// The sources whose change triggers a rebuild.
fn watched(root: &Path) -> Vec<PathBuf> {
    vec![root.join("book"), root.join("solutions")]
}

/// Serve the book until interrupted.
pub fn serve(root: &Path, port: u16) -> Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .with_context(|| format!("listen on 127.0.0.1:{port}"))?;
    println!("book: serving on http://127.0.0.1:{port}/ (Ctrl-C to stop); edits show on reload");
    let stamp = Arc::new(Mutex::new(files::newest_mtime(&watched(root))));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let root = root.to_path_buf();
        let stamp = Arc::clone(&stamp);
        std::thread::spawn(move || {
            if let Err(err) = handle(stream, &root, &stamp) {
                eprintln!("book: {err:#}");
            }
        });
    }
    Ok(())
}

/// Rebuild if any watched file is newer than the last build.
fn refresh(root: &Path, stamp: &Mutex<Option<SystemTime>>) {
    let mut last = stamp.lock().unwrap_or_else(|e| e.into_inner());
    let now = files::newest_mtime(&watched(root));
    if now != *last {
        *last = now;
        let (problems, _) = crate::build_all(root);
        for problem in &problems {
            eprintln!("{problem}");
        }
        if problems.is_empty() {
            println!("book: rebuilt");
        }
    }
}

fn handle(mut stream: TcpStream, root: &Path, stamp: &Mutex<Option<SystemTime>>) -> Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request_line = String::new();
    let mut reader = BufReader::new(stream.try_clone()?);
    reader.read_line(&mut request_line)?;
    // Read the headers to their end; their content does not matter here.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "GET" {
        return respond(
            &mut stream,
            "405 Method Not Allowed",
            "text/plain",
            b"GET only\n",
        );
    }
    let out = crate::output_dir(root);
    let Some(path) = resolve(&out, target) else {
        return respond(&mut stream, "400 Bad Request", "text/plain", b"bad path\n");
    };
    let path = if path.is_dir() {
        path.join("index.html")
    } else {
        path
    };
    if path.extension().is_some_and(|e| e == "html") {
        refresh(root, stamp);
    }
    match std::fs::read(&path) {
        Ok(body) => respond(&mut stream, "200 OK", content_type(&path), &body),
        Err(_) => {
            let body =
                std::fs::read(out.join("404.html")).unwrap_or_else(|_| b"not found\n".to_vec());
            respond(
                &mut stream,
                "404 Not Found",
                "text/html; charset=utf-8",
                &body,
            )
        }
    }
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &[u8]) -> Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    Ok(stream.flush()?)
}

/// The file under `out` that a request target names, or `None` if it would
/// leave `out` (`..`, absolute parts) or is not a path.
pub fn resolve(out: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?;
    let path = files::percent_decode(path.strip_prefix('/')?);
    if path.contains(['\0', '\\']) {
        return None;
    }
    let mut resolved = out.to_path_buf();
    for component in Path::new(&path).components() {
        match component {
            Component::Normal(part) => resolved.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(resolved)
}

/// The `Content-Type` for a file, by its extension.
pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "md" | "rs" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_inside_the_output_dir() {
        let out = Path::new("/out");
        assert_eq!(resolve(out, "/"), Some(PathBuf::from("/out")));
        assert_eq!(
            resolve(out, "/lab01-process.html#013"),
            Some(PathBuf::from("/out/lab01-process.html"))
        );
        assert_eq!(
            resolve(out, "/css/general.css?v=1"),
            Some(PathBuf::from("/out/css/general.css"))
        );
        assert_eq!(
            resolve(out, "/two%20words.html"),
            Some(PathBuf::from("/out/two words.html"))
        );
        assert_eq!(resolve(out, "/../etc/passwd"), None);
        assert_eq!(resolve(out, "/css/%2e%2e/%2e%2e/etc/passwd"), None);
        assert_eq!(resolve(out, "//etc/passwd"), None);
        assert_eq!(resolve(out, "/a%00b"), None);
        assert_eq!(resolve(out, "http://host/x"), None);
    }

    #[test]
    fn content_types() {
        assert_eq!(
            content_type(Path::new("a/index.html")),
            "text/html; charset=utf-8"
        );
        assert_eq!(content_type(Path::new("f.woff2")), "font/woff2");
        assert_eq!(content_type(Path::new("x.svg")), "image/svg+xml");
        assert_eq!(content_type(Path::new("noext")), "application/octet-stream");
    }
}
