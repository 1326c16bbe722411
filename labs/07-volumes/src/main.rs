//! `dockyard-07`: volumes, bind mounts and tmpfs for containers run by
//! lab 05's runtime. See the `volumes` crate's documentation.

fn main() {
    let cli: volumes::cli::Cli = process::cli::parse();
    std::process::exit(volumes::cli::main(cli));
}
