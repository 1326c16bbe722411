use clap::Parser;

fn main() {
    let cli = images::cli::Cli::parse();
    // CVE-2019-5736: until it execs, a container's first process is this
    // binary. Commands that make containers run from a sealed copy of it.
    runtime::exe::reexec_sealed_or_exit("dockyard-08", images::cli::sealed_root(&cli));
    std::process::exit(images::cli::main(cli));
}
