//! `dockyard-06`: run a container on an overlay of layers, and turn its
//! read/write layer into a layer tarball. See the `layers` crate.

fn main() {
    let cli: layers::cli::Cli = process::cli::parse();
    // CVE-2019-5736: until it execs, a container's first process is this
    // binary. Commands that make containers run from a sealed copy of it.
    runtime::exe::reexec_sealed_or_exit("dockyard-06", layers::cli::sealed_root(&cli));
    std::process::exit(layers::cli::main(cli));
}
