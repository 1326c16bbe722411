use clap::Parser;

fn main() {
    std::process::exit(images::cli::main(images::cli::Cli::parse()));
}
