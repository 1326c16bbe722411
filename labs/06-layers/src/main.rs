//! `dockyard-06`: run a container on an overlay of layers, and turn its
//! read/write layer into a layer tarball. See the `layers` crate.

fn main() {
    let cli: layers::cli::Cli = process::cli::parse();
    std::process::exit(layers::cli::main(cli));
}
