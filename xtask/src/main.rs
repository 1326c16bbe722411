//! `cargo xtask`: the workbook's own tool.
//!
//! For learners: `doctor`, `check`, `status`, `hint`, `skip`/`unskip`, `book`, `demo`.
//! For instructors: `export`, `grade`. For the workbook's maintainers: `sync`, `verify`,
//! `mutants`, `bench`, `vm` (checks in a pure cgroup-v2 VM).
//! See ARCHITECTURE.md for how the pieces fit.

mod assemble;
mod bench;
mod bench_build;
mod bench_layers;
mod book;
mod chapter;
mod check;
mod demo;
mod doctor;
mod export;
mod grade;
mod hint;
mod interop;
mod labs;
mod markers;
mod mutants;
mod probe;
mod progress;
mod skip;
mod sync;
mod target;
mod testrun;
mod verify;
mod vm;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Dockyard's tool: run `cargo xtask <command>`.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Dockyard's tool. Learners: doctor, check, status, hint, skip, unskip, book. \
             Instructors: export, grade, demo. Maintainers: the rest.",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Debug, Subcommand)]
enum Commands {
    /// Run a lab's checks and show what to do next (default: the lab in progress).
    Check {
        /// The lab: its number (1, 01) or its name (process).
        lab: Option<String>,
        /// Show the output of every failing check, not only the next task's.
        #[arg(long)]
        all: bool,
    },
    /// Show your progress over all labs.
    Status,
    /// Stuck on a task? The next hint: a nudge, then a stronger hint, then the code.
    Hint {
        /// The task: NN.K (01.3), as `check` lists them (default: the first task
        /// still todo!() of the lab in progress).
        task: Option<String>,
        /// Forget which hints of this task were shown: start again at the first.
        #[arg(long)]
        reset: bool,
    },
    /// Stuck? Put the reference code into a lab's tasks (yours is saved) to go on.
    Skip {
        /// The lab: its number (1, 01) or its name (process).
        lab: String,
        /// The reference crate of the lab, when this checkout has no solutions/
        /// (the student edition): the one your instructor handed out.
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
    },
    /// Put your own code back into a skipped lab.
    Unskip {
        /// The lab: its number (1, 01) or its name (process).
        lab: String,
    },
    /// Instructors: a lab's score beside the reference code of the earlier labs.
    Grade {
        /// The lab: its number (1, 01) or its name (process).
        lab: String,
        /// One JSON object on stdout.
        #[arg(long, conflicts_with = "junit")]
        json: bool,
        /// JUnit XML (one testsuite per task, one testcase per check), as CI reads it.
        #[arg(long)]
        junit: bool,
        /// Grade a student's work: a student-edition checkout, or just its labs/NN-name.
        #[arg(long, value_name = "DIR", conflicts_with = "class")]
        submission: Option<PathBuf>,
        /// Grade a class: DIR holds one submission per subdirectory (named after the student).
        #[arg(long, value_name = "DIR")]
        class: Option<PathBuf>,
        /// Where --class writes lab-NN.csv and lab-NN.json (default: target/dockyard/grades).
        #[arg(long, value_name = "DIR", requires = "class")]
        out: Option<PathBuf>,
        /// Seconds for one submission's build and checks together.
        #[arg(long, value_name = "SECS", default_value_t = 600)]
        deadline: u64,
        /// Submissions are untrusted code run as root: say this only inside a VM you
        /// will throw away (or set DOCKYARD_THROWAWAY_VM=1).
        #[arg(long)]
        i_am_in_a_throwaway_vm: bool,
    },
    /// Instructors: write the student edition (no solutions/, no reference code in the book).
    Export {
        /// The directory to write (new or empty).
        #[arg(long, value_name = "DIR")]
        student: PathBuf,
    },
    /// Check what this host supports, and how to fix what it lacks.
    Doctor,
    /// Build the book into target/book, each translation (book/po/LANG.po) into
    /// target/book/LANG (or serve them on http://127.0.0.1:3000).
    Book {
        #[arg(long)]
        serve: bool,
        /// Fail on a broken include, link or translation catalog; list what
        /// each translation lacks of the current English.
        #[arg(long)]
        check: bool,
        /// Translators: write the English's messages to book/po/messages.pot.
        #[arg(long, conflicts_with_all = ["serve", "check"])]
        xgettext: bool,
    },
    /// Run the most advanced reference lab on the probe: container vs host.
    Demo,
    /// Maintainers: regenerate labs/ from solutions/.
    Sync {
        /// Write nothing; fail if labs/ is out of date.
        #[arg(long)]
        check: bool,
        /// Overwrite task regions that hold code, and remove extra files.
        #[arg(long)]
        force: bool,
    },
    /// Maintainers: the project's gate (sync, fmt, clippy, tests, every check
    /// passes on the reference and fails on the starter, the book).
    Verify {
        /// Only these labs' steps (and the consistency and book steps): for
        /// working on one lab. CI runs them all.
        #[arg(long = "lab", value_name = "NN")]
        labs: Vec<String>,
    },
    /// Maintainers: which wrong versions of lab NN's task code its checks miss (cargo-mutants).
    Mutants {
        lab: String,
        /// Extra arguments for `cargo mutants`, after `--`.
        #[arg(last = true)]
        extra: Vec<String>,
    },
    /// Maintainers: measure how long learners wait.
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
    /// Maintainers: a real client drives lab 05's reference runtime (as root).
    Interop {
        #[command(subcommand)]
        client: interop::Client,
    },
    /// Run a lab's checks in a pure cgroup-v2 VM (qemu, a Debian kernel).
    Vm {
        #[command(subcommand)]
        what: VmWhat,
    },
}

#[derive(Debug, Subcommand)]
enum VmWhat {
    /// Run lab NN's checks (your code in labs/, or the reference) inside the VM.
    Check {
        /// The lab: its number (1, 01) or its name (process).
        lab: String,
        /// Check the reference in solutions/ instead of your code.
        #[arg(long)]
        reference: bool,
    },
    /// Download and unpack the VM's kernel (Debian's linux-image-amd64) into target/vm/.
    Kernel,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    /// Time lab 03's `dockyard run --rootfs` against `unshare` (ratio of medians).
    Run {
        #[arg(long, default_value_t = 50)]
        runs: usize,
    },
    /// Time lab 05's `dockyard-runtime run` against runc, crun and `unshare`.
    Runtime {
        #[arg(long, default_value_t = 30)]
        runs: usize,
        /// Milliseconds of quiet before each start (0: back to back; see
        /// `bench.rs` on why back-to-back starts hide a cgroup cost).
        #[arg(long, default_value_t = 100)]
        gap_ms: u64,
    },
    /// Time lab 06: a 5- and a 100-layer overlay start vs a plain dir, and its diff vs `tar -c`.
    Layers {
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
    /// Time lab 08's layer unpacking against `tar -x` (10,000 files, ratio of medians).
    Unpack {
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Time lab 09's builder: a cached rebuild and a cold build of a 5-step
    /// Containerfile, and `docker build` of it (a dockerd of its own) when installed.
    Build {
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Time `cargo xtask check NN` from a clean clone and after a one-line edit.
    Check {
        #[arg(default_value = "01")]
        lab: String,
    },
}

fn main() -> ExitCode {
    // Like a C tool, die quietly when the reader of our output goes away
    // (`cargo xtask check 01 | head`): Rust ignores SIGPIPE by default.
    // SAFETY: restoring the default disposition installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    target::pin_env();
    let cli = Cli::parse();
    let root = labs::root();
    // Commands that build or run lab binaries hold the target dir's lock.
    let _lock = match &cli.command {
        Commands::Status
        | Commands::Doctor
        | Commands::Book { .. }
        | Commands::Hint { .. }
        | Commands::Export { .. } => None,
        _ => match target::lock(&root) {
            Ok(lock) => Some(lock),
            Err(err) => {
                eprintln!("error: {err:#}");
                return ExitCode::FAILURE;
            }
        },
    };
    let result = match cli.command {
        Commands::Check { lab, all } => check::run(&root, lab.as_deref(), all),
        Commands::Status => progress::status(&root).map(|()| true),
        Commands::Hint { task, reset } => hint::run(&root, task.as_deref(), reset).map(|()| true),
        Commands::Skip { lab, from } => skip::skip(&root, &lab, from.as_deref()).map(|()| true),
        Commands::Unskip { lab } => skip::unskip(&root, &lab).map(|()| true),
        Commands::Grade {
            lab,
            json,
            junit,
            submission,
            class,
            out,
            deadline,
            i_am_in_a_throwaway_vm,
        } => {
            let opts = grade::Options {
                json,
                junit,
                submission,
                class,
                out,
                throwaway_vm: i_am_in_a_throwaway_vm,
                deadline: Duration::from_secs(deadline.max(1)),
            };
            grade::run(&root, &lab, &opts)
        }
        Commands::Export { student } => export::run(&root, &student).map(|()| true),
        Commands::Doctor => doctor::run(),
        Commands::Book {
            serve,
            check,
            xgettext,
        } => book::run(&root, serve, check, xgettext),
        // What needs the reference solutions says so in the student edition.
        Commands::Demo => {
            export::require_reference(&root, "demo").and_then(|()| demo::run(&root).map(|()| true))
        }
        Commands::Sync { check, force } => export::require_reference(&root, "sync")
            .and_then(|()| sync::run(&root, check, force).map(|()| true)),
        Commands::Verify { labs } => {
            export::require_reference(&root, "verify").and_then(|()| verify::run(&root, &labs))
        }
        Commands::Mutants { lab, extra } => export::require_reference(&root, "mutants")
            .and_then(|()| mutants::run(&root, &lab, &extra)),
        Commands::Bench {
            what: BenchWhat::Check { lab },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench::check_times(&root, &lab).map(|()| true)),
        Commands::Bench {
            what: BenchWhat::Runtime { runs, gap_ms },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench::runtime_times(&root, runs.max(1), gap_ms).map(|()| true)),
        Commands::Bench {
            what: BenchWhat::Layers { runs },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench_layers::layers_times(&root, runs.max(1)).map(|()| true)),
        Commands::Bench {
            what: BenchWhat::Run { runs },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench::run_times(&root, runs.max(1)).map(|()| true)),
        Commands::Bench {
            what: BenchWhat::Unpack { runs },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench::unpack_times(&root, runs.max(1)).map(|()| true)),
        Commands::Bench {
            what: BenchWhat::Build { runs },
        } => export::require_reference(&root, "bench")
            .and_then(|()| bench_build::build_times(&root, runs.max(1)).map(|()| true)),
        Commands::Interop { client } => {
            export::require_reference(&root, "interop").and_then(|()| interop::run(&root, &client))
        }
        Commands::Vm {
            what: VmWhat::Check { lab, reference },
        } => vm::check(&root, &lab, reference),
        Commands::Vm {
            what: VmWhat::Kernel,
        } => vm::fetch_kernel(&root).map(|()| true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
