//! `dockyard-09`: lab 09's command line. See the `build` crate's documentation.

fn main() {
    let cli = <build::cli::Cli as clap::Parser>::parse();
    // CVE-2019-5736: until it execs, a container's first process is this
    // binary. Commands that make containers run from a sealed copy of it.
    runtime::exe::reexec_sealed_or_exit("dockyard-09", build::cli::sealed_root(&cli));
    std::process::exit(build::cli::main(cli));
}
