//! Task markers (`// TASK NN.K: …` / `// END TASK NN.K`): the code lives in
//! the shared crate, because the book's checks read the same markers.
//! Re-exported here so that xtask's modules say `crate::markers`.

pub use shared::markers::*;
