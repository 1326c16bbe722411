//! `dockyard-runtime`: an OCI runtime with runc's command line, built
//! from labs 01–04. See the `runtime` crate's documentation.

fn main() {
    let cli: runtime::cli::Cli = process::cli::parse();
    std::process::exit(runtime::cli::main(cli));
}
