//! `dockyard-runtime`: an OCI runtime with runc's command line, built
//! from labs 01–04. See the `runtime` crate's documentation.

fn main() {
    // CVE-2019-5736: re-executes from a sealed copy for create, run, exec.
    runtime::cli::reexec_early();
    let cli: runtime::cli::Cli = process::cli::parse();
    std::process::exit(runtime::cli::main(cli));
}
