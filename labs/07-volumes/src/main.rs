//! `dockyard-07`: volumes, bind mounts and tmpfs for containers run by
//! lab 05's runtime. See the `volumes` crate's documentation.

fn main() {
    let cli: volumes::cli::Cli = process::cli::parse();
    // CVE-2019-5736: until it execs, a container's first process is this
    // binary. Commands that make containers run from a sealed copy of it.
    runtime::exe::reexec_sealed_or_exit("dockyard-07", volumes::cli::sealed_root(&cli));
    std::process::exit(volumes::cli::main(cli));
}
