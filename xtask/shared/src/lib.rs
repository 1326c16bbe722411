//! What the workbook's own tools share, so that each thing is written once:
//! `xtask` (sync, check, skip) and `xtask-book` (the book's checks) read
//! task markers with the same code.

pub mod markers;
