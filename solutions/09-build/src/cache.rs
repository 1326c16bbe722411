//! The build cache's keys.
//!
//! A step can be skipped when a step *with the same key* was built
//! before: its result (a layer, or a config change) is reused. So the key
//! must change whenever the result could:
//!
//! - the **parent**: the key of the step before (or of the stage's
//!   base), so a changed step invalidates every step after it — a chain;
//! - the **instruction, substituted**: `COPY ${SRC} /` with another
//!   `--build-arg SRC=…` is another step; an ARG the step does not use
//!   does not change it, except for RUN, whose environment holds every
//!   ARG in scope;
//! - for COPY and ADD, the **sources**: their paths, kinds, permission
//!   bits and contents — not their modification times;
//! - for `COPY --from=stage`, that stage's last key (its result).
//!
//! Keys are SHA-256 over a canonical form: serde_json of the substituted
//! [`Op`](crate::plan::Op), never `Debug`, which is free to change.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::context::{Context, entry_identity};
use crate::error::{ContextError, Error};
use crate::plan::{Base, Op, Plan, Source, Step};

/// A SHA-256 digest, shown as `sha256:<hex>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub fn sha256(bytes: &[u8]) -> Digest {
    Digest(Sha256::digest(bytes).into())
}

/// The key a stage starts from.
pub fn base_key(base: &Base, stage_last: &dyn Fn(usize) -> Digest) -> Digest {
    match base {
        Base::Scratch => sha256(b"scratch"),
        // Lab 08's store will give the image's digest; until then its name.
        Base::Image(reference) => sha256(format!("image\0{reference}").as_bytes()),
        Base::Stage(i) => stage_last(*i),
    }
}

/// The digest of what COPY/ADD sources name in the context.
pub fn sources_digest(
    context: &Context,
    entries: &[String],
    sources: &[String],
) -> Result<Digest, ContextError> {
    let mut hasher = Sha256::new();
    for source in sources {
        for entry in context.resolve(source, entries)? {
            let identity = entry_identity(&context.root, &entry)?;
            hasher.update((identity.len() as u64).to_le_bytes());
            hasher.update(&identity);
        }
        hasher.update(b"\xff");
    }
    Ok(Digest(hasher.finalize().into()))
}

/// The key of `step`, after `parent`; `sources` is the digest of its
/// sources for COPY/ADD.
// ANCHOR: step_key
pub fn step_key(parent: &Digest, step: &Step, sources: Option<&Digest>) -> Digest {
    // TASK 09.6: parent + substituted op as JSON + sources digest
    let mut hasher = Sha256::new();
    hasher.update(parent.0);
    let op = serde_json::to_vec(&step.op).expect("an Op always serializes");
    hasher.update((op.len() as u64).to_le_bytes());
    hasher.update(&op);
    if let Some(sources) = sources {
        hasher.update(sources.0);
    }
    Digest(hasher.finalize().into())
    // END TASK 09.6
}
// ANCHOR_END: step_key

/// The keys of a plan: per stage (indexed like `plan.stages`), the base
/// key then one key per step. Stages the target does not need are empty.
pub fn keys(plan: &Plan, context: &Context) -> Result<Vec<Vec<Digest>>, Error> {
    keys_with(plan, context, &BTreeMap::new())
}

/// [`keys`], with the manifest digest of each image reference a `FROM` or
/// `COPY --from` names (lab 08's store): the key of such a step is the
/// image's digest ([`crate::base::image_key`]). A reference missing from
/// `images` is keyed by its name, as [`keys`] does without a store.
pub fn keys_with(
    plan: &Plan,
    context: &Context,
    images: &BTreeMap<String, String>,
) -> Result<Vec<Vec<Digest>>, Error> {
    let image = |r: &str| match images.get(r) {
        Some(digest) => crate::base::image_key(r, digest),
        None => sha256(format!("image\0{r}").as_bytes()),
    };
    let entries = context.entries()?;
    let mut keys: Vec<Vec<Digest>> = vec![Vec::new(); plan.stages.len()];
    for &index in &plan.order {
        let stage = &plan.stages[index];
        let last = |i: usize| {
            keys[i]
                .last()
                .copied()
                .unwrap_or_else(|| sha256(b"unbuilt"))
        };
        let mut chain = vec![match &stage.base {
            Base::Image(r) => image(r),
            base => base_key(base, &last),
        }];
        for step in &stage.steps {
            let sources = match &step.op {
                Op::Copy {
                    from: Source::Context,
                    sources,
                    ..
                } => Some(
                    sources_digest(context, &entries, sources).map_err(|source| Error::Step {
                        step: format!("Containerfile:{}: {}", step.pos, step.text),
                        source,
                    })?,
                ),
                Op::Copy {
                    from: Source::Stage(i),
                    ..
                } => Some(last(*i)),
                Op::Copy {
                    from: Source::Image(r),
                    ..
                } => Some(image(r)),
                _ => None,
            };
            let parent = *chain.last().expect("the base key is first");
            chain.push(step_key(&parent, step, sources.as_ref()));
        }
        keys[index] = chain;
    }
    Ok(keys)
}
