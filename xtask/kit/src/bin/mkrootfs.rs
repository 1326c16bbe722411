//! `mkrootfs DIR PROBE`: make a minimal rootfs (used by `cargo xtask demo`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, probe] = args.as_slice() else {
        eprintln!("usage: mkrootfs DIR PROBE");
        std::process::exit(2);
    };
    match kit::rootfs::Rootfs::create(dir.as_ref(), probe.as_ref()) {
        Ok(rootfs) => println!(
            "{} (busybox: {})",
            rootfs.path().display(),
            rootfs.has_busybox()
        ),
        Err(err) => {
            eprintln!("mkrootfs: {dir}: {err}");
            std::process::exit(1);
        }
    }
}
