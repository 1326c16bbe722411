//! `cargo xtask interop oci`: lab 08's image store against the OCI tools
//! everyone else uses.
//!
//! - skopeo copies an image out of the store (`oci:STATE/images:NAME`) and
//!   sees the manifest digest the store has;
//! - umoci unpacks it into a runtime bundle (`umoci unpack --image
//!   STATE/images:NAME`) whose rootfs and process are the image's;
//! - skopeo writes an OCI archive (gzip layers) and a docker-archive
//!   (`docker save`'s classic format) of it: `dockyard-08 load` reads both
//!   into a fresh store, with the same image ID, and unpacks them;
//! - skopeo reads what `dockyard-08 save` writes.
//!
//! Everything happens in `target/interop/oci` (kept for a look), from a docker-save archive the kit
//! makes from busybox and the probe: nothing is downloaded.
//! Needs `skopeo` and `umoci` (`apt-get install skopeo umoci`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// One step's command, its output when it worked.
fn step(what: &str, cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{what}: {cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    println!("ok    {what}");
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn build(root: &Path) -> Result<PathBuf> {
    let status = Command::new(crate::testrun::cargo())
        .current_dir(root.join("solutions"))
        .args(["build", "--quiet", "--package", "images", "--bins"])
        .status()?;
    if !status.success() {
        bail!("the reference of lab 08 does not build");
    }
    Ok(crate::target::dir(root).join("debug/dockyard-08"))
}

pub fn run(root: &Path) -> Result<bool> {
    for tool in ["skopeo", "umoci"] {
        if Command::new(tool).arg("--version").output().is_err() {
            bail!("interop oci needs {tool}: apt-get install skopeo umoci");
        }
    }
    let dockyard = build(root)?;
    let probe = crate::probe::build(root)?;
    // In the target dir, kept after the run for a look; made fresh each time.
    let dir = &crate::target::dir(root).join("interop/oci");
    if dir.exists() {
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    let base = dir.join("base");
    kit::rootfs::Rootfs::create(&base, &probe)?;
    let top = dir.join("top");
    fs::create_dir_all(&top)?;
    let marker = kit::random::token(16);
    fs::write(top.join("marker"), &marker)?;
    let name = format!("interop-{}:1", kit::random::token(6));
    let config =
        json!({ "config": { "Entrypoint": ["/probe"], "Cmd": ["report"], "Env": ["PATH=/bin"] } });
    let archive =
        kit::image::docker_save(&dir.join("in.tar"), &[&name], &[&base, &top], &[], config)?;
    let state = dir.join("state");
    let ours = |state: &Path, args: &[&str]| {
        let mut cmd = Command::new(&dockyard);
        cmd.arg("--state-dir").arg(state).args(args);
        cmd
    };
    let path = |p: &Path| p.to_str().map(str::to_string).context("a UTF-8 path");
    step(
        "dockyard-08 load -i (docker save format)",
        &mut ours(&state, &["load", "-i", &path(&archive.path)?]),
    )?;
    let inspect: Value = serde_json::from_str(&step(
        "dockyard-08 image inspect",
        &mut ours(&state, &["image", "inspect", &name]),
    )?)?;
    let manifest = inspect[0]["ManifestDigest"]
        .as_str()
        .context("a manifest digest")?
        .to_string();
    let layout = format!("oci:{}:{name}", path(&state.join("images"))?);

    // skopeo reads the store.
    let raw = step(
        "skopeo inspect --raw oci:STATE/images:NAME",
        Command::new("skopeo").args(["inspect", "--raw", &layout]),
    )?;
    if kit::image::sha256(raw.as_bytes()) != manifest {
        bail!(
            "skopeo reads a manifest of digest {}, the store says {manifest}",
            kit::image::sha256(raw.as_bytes())
        );
    }
    let copy = format!("oci:{}:copied", path(&dir.join("copy"))?);
    step(
        "skopeo copy oci:STATE/images:NAME oci:DIR:copied",
        Command::new("skopeo").args(["--insecure-policy", "copy", "-q", &layout, &copy]),
    )?;

    // umoci unpacks it into a bundle.
    let bundle = dir.join("bundle");
    let image_ref = format!("{}:{name}", path(&state.join("images"))?);
    let mut umoci = Command::new("umoci");
    umoci.args(["unpack", "--image", &image_ref]);
    if !kit::root::is_root() {
        umoci.arg("--rootless");
    }
    step("umoci unpack --image STATE/images:NAME", umoci.arg(&bundle))?;
    if fs::read_to_string(bundle.join("rootfs/marker"))
        .ok()
        .as_deref()
        != Some(marker.as_str())
    {
        bail!("umoci's rootfs does not hold the image's top layer (rootfs/marker)");
    }
    let spec: Value = serde_json::from_slice(&fs::read(bundle.join("config.json"))?)?;
    if spec["process"]["args"] != json!(["/probe", "report"]) {
        bail!(
            "umoci's config.json runs {}, the image says /probe report",
            spec["process"]["args"]
        );
    }
    println!("ok    umoci's bundle: the image's files and process");

    // What skopeo writes, the store loads: an OCI archive and a docker-archive.
    let id = inspect[0]["Id"].as_str().context("an ID")?.to_string();
    for (format, target) in [
        ("oci-archive", "back-oci:2"),
        ("docker-archive", "back-docker:3"),
    ] {
        let file = dir.join(format!("{format}.tar"));
        let dest = format!("{format}:{}:{target}", path(&file)?);
        step(
            &format!("skopeo copy … {format}:FILE"),
            Command::new("skopeo").args(["--insecure-policy", "copy", "-q", &layout, &dest]),
        )?;
        let other = dir.join(format!("state-{format}"));
        step(
            &format!("dockyard-08 load -i ({format} by skopeo)"),
            &mut ours(&other, &["load", "-i", &path(&file)?]),
        )?;
        let back: Value = serde_json::from_str(&step(
            "dockyard-08 image inspect",
            &mut ours(&other, &["image", "inspect", target]),
        )?)?;
        if back[0]["Id"] != json!(id) {
            bail!(
                "{format}: the image came back as {}, it left as {id}",
                back[0]["Id"]
            );
        }
        step(
            &format!("dockyard-08 image unpack ({format})"),
            &mut ours(&other, &["image", "unpack", target]),
        )?;
    }

    // What the store saves, skopeo reads.
    let saved = dir.join("saved.tar");
    step(
        "dockyard-08 save -o FILE",
        &mut ours(&state, &["save", "-o", &path(&saved)?, &name]),
    )?;
    let saved_ref = format!("oci-archive:{}", path(&saved)?);
    let raw = step(
        "skopeo inspect --raw oci-archive:FILE",
        Command::new("skopeo").args(["inspect", "--raw", &saved_ref]),
    )?;
    if kit::image::sha256(raw.as_bytes()) != manifest {
        bail!("the saved archive's manifest is not the store's");
    }
    let again = format!("oci:{}:again", path(&dir.join("again"))?);
    step(
        "skopeo copy oci-archive:FILE oci:DIR",
        Command::new("skopeo").args(["--insecure-policy", "copy", "-q", &saved_ref, &again]),
    )?;
    println!("interop oci: skopeo and umoci read the store; the store reads skopeo's archives");
    Ok(true)
}
