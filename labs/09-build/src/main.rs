//! `dockyard-09`: lab 09's command line. See the `build` crate's documentation.

fn main() {
    let cli = <build::cli::Cli as clap::Parser>::parse();
    std::process::exit(build::cli::main(cli));
}
