use clap::Parser;

fn main() {
    let cli = images::cli::Cli::parse();
    // CVE-2019-5736: until it execs, a container's first process is this
    // binary. Commands that make containers run from a sealed copy of it.
    if let Some(root) = images::cli::sealed_root(&cli)
        && let Err(err) = runtime::exe::reexec_sealed_in(&root)
    {
        eprintln!("dockyard-08: {err}");
        std::process::exit(process::cli::EXIT_ENGINE);
    }
    std::process::exit(images::cli::main(cli));
}
