//! mdBook's log, kept quiet.
//!
//! mdBook reports through `tracing`, and some of its problems (an include
//! that cannot be read, an include cycle) are *only* logged: the build still
//! succeeds. This collector keeps warnings and errors instead of printing
//! them; [`take_errors`] hands the errors to `--check`, and warnings are
//! printed once, briefly. Everything below warnings is dropped.

use std::fmt::{self, Write as _};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Collector;

/// Route mdBook's log to the collector (once per process).
pub fn install() {
    let _ = tracing::subscriber::set_global_default(Collector);
}

/// The errors mdBook logged since the last call.
pub fn take_errors() -> Vec<String> {
    std::mem::take(&mut *ERRORS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// An event's message, then its other fields as `name=value`.
#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

impl Subscriber for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // Less verbose is smaller: ERROR < WARN < INFO.
        *metadata.level() <= Level::WARN
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(LevelFilter::WARN)
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = Message::default();
        event.record(&mut message);
        if *event.metadata().level() == Level::ERROR {
            ERRORS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(message.0);
        } else {
            eprintln!("warning: mdBook: {}", message.0);
        }
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
