//! `bench layers`: lab 06's overlay and diff against their floors, all
//! interleaved in one run, as ratios of medians:
//!
//! - a container started on a 5-layer overlay (`dockyard-06 run`) vs the
//!   same runtime on a plain directory (`dockyard-runtime run`): ≤ 1.3×;
//! - the same with 100 layers (the new mount API's `lowerdir+`) vs 5: ≤ 2×;
//! - the diff of an upper holding 10,000 small files vs `tar -cf` of it: ≤ 1.5×.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bench::{build_release, host_lock, median, require_root, time};

/// `bench layers [--runs N]`.
pub fn layers_times(root: &Path, runs: usize) -> Result<()> {
    let probe = crate::probe::build(root)?;
    build_release(root, &["layers", "runtime"], "labs 05 and 06")?;
    require_root("layers", "mounts overlays and runs containers")?;
    let _host = host_lock()?;
    let target = crate::target::dir(root);
    let (ours, runtime) = (
        target.join("release/dockyard-06"),
        target.join("release/dockyard-runtime"),
    );
    let dir = target.join("bench/layers");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    // The plain bundle: lab 05's spec on a directory rootfs.
    let bundle = dir.join("bundle");
    kit::rootfs::Rootfs::create(&bundle.join("rootfs"), &probe)?;
    let ok = Command::new(&runtime)
        .args(["spec", "--bundle"])
        .arg(&bundle)
        .status()?;
    if !ok.success() {
        bail!("dockyard-runtime spec failed");
    }
    let config = bundle.join("config.json");
    let mut spec: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&config)?)?;
    spec["process"]["args"] = serde_json::json!(["/probe", "true"]);
    spec["process"]["terminal"] = serde_json::json!(false);
    std::fs::write(&config, spec.to_string())?;
    // The layers: the same base plus 4 (or 99) small ones, with long paths
    // as a real store's.
    let base = dir.join("base");
    kit::rootfs::Rootfs::create(&base, &probe)?;
    let mut lowers: Vec<PathBuf> = vec![base];
    for i in 0..99 {
        let layer = dir.join(format!("layers/{i:03}-{}", "0123456789abcdef".repeat(4)));
        std::fs::create_dir_all(layer.join("etc"))?;
        std::fs::write(layer.join(format!("etc/layer-{i}")), format!("{i}\n"))?;
        lowers.push(layer);
    }
    // The upper to diff: 100 directories of 100 files of 100 bytes.
    let upper = dir.join("upper");
    for d in 0..100 {
        let sub = upper.join(format!("d{d:02}"));
        std::fs::create_dir_all(&sub)?;
        for f in 0..100 {
            std::fs::write(sub.join(format!("f{f:02}")), [b'x'; 100])?;
        }
    }
    let store = dir.join("store");
    let run_on = |n: usize| {
        let lowers = lowers[..n].to_vec();
        let (ours, store) = (ours.clone(), store.clone());
        move |i: usize| {
            let mut c = Command::new(&ours);
            c.arg("--root").arg(&store).arg("run");
            for lower in &lowers {
                c.arg("--lower").arg(lower);
            }
            c.args(["--name", &format!("bench-{n}-{i}"), "--", "/probe", "true"]);
            c
        }
    };
    let (five, hundred) = (run_on(5), run_on(100));
    let state = dir.join("state");
    let plain = |i: usize| {
        let mut c = Command::new(&runtime);
        c.arg("--root")
            .arg(&state)
            .args(["run", "--bundle"])
            .arg(&bundle);
        c.arg(format!("bench-{i}"));
        c
    };
    let out = dir.join("out.tar");
    let diff = || {
        let mut c = Command::new(&ours);
        c.args(["diff", "--upper"]).arg(&upper).arg("-o").arg(&out);
        c
    };
    // A real file, not /dev/null: GNU tar skips reading files it would
    // write to /dev/null.
    let tar = || {
        let mut c = Command::new("tar");
        c.arg("-cf").arg(&out).arg("-C").arg(&upper).arg(".");
        c
    };
    let names = [
        "dockyard-runtime run, plain dir",
        "dockyard-06 run, 5 layers",
        "dockyard-06 run, 100 layers",
        "dockyard-06 diff, 10,000 files",
        "tar -cf, 10,000 files",
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    for i in 0..=runs {
        let mut cmds = [plain(i), five(i), hundred(i), diff(), tar()];
        for (k, cmd) in cmds.iter_mut().enumerate() {
            cmd.stdout(Stdio::null());
            let t = time(cmd).with_context(|| names[k].to_string())?;
            // The first round warms the caches.
            if i > 0 {
                times[k].push(t);
            }
        }
    }
    let m: Vec<f64> = times.iter_mut().map(|t| median(t)).collect();
    println!("runs: {runs} each, interleaved");
    for (name, median) in names.iter().zip(&m) {
        println!("{name:<34} median {:>8.2} ms", median * 1e3);
    }
    println!(
        "5 layers / plain dir:   {:.2}×   (target ≤ 1.3×)",
        m[1] / m[0]
    );
    println!(
        "100 layers / 5 layers:  {:.2}×   (target ≤ 2×)",
        m[2] / m[1]
    );
    println!(
        "diff / tar -cf:         {:.2}×   (target ≤ 1.5×)",
        m[3] / m[4]
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
