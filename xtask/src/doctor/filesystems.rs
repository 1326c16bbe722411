//! Filesystems: how `/` propagates mounts, and overlayfs for image layers.

use super::detect::root_is_shared;
use super::needs::Needs;
use super::report::{Item, fix};
use super::sys::{read, read_trimmed};

/// Mount namespaces and pivot_root work on any Linux; what differs is
/// whether `/` propagates mounts, which the rootfs lab has to deal with.
pub fn mounts(needs: &Needs) -> Item {
    let Some(text) = read("/proc/self/mountinfo") else {
        return Item::optional("mounts", "cannot read /proc/self/mountinfo", Vec::new());
    };
    match root_is_shared(&shared::mountinfo::parse(&text)) {
        Some(true) => {
            let who = match needs.named("rootfs") {
                Some(lab) => format!("lab {} ({})", lab.num, lab.package),
                None => "a container runtime".to_owned(),
            };
            Item::ok(
                "mounts",
                format!("/ is shared (systemd): {who} makes it private inside the container"),
            )
        }
        Some(false) => Item::ok("mounts", "/ is private"),
        None => Item::optional(
            "mounts",
            "no mount for / in /proc/self/mountinfo",
            Vec::new(),
        ),
    }
}

pub fn overlayfs(needs: &Needs) -> Item {
    let listed = read("/proc/filesystems").is_some_and(|text| has_filesystem(&text, "overlay"));
    if listed {
        return Item::ok("overlayfs", "overlay in /proc/filesystems");
    }
    // A module not loaded yet is fine: mount(2) asks the kernel to load
    // "fs-overlay" by itself when root mounts one.
    if overlay_module_installed() {
        return Item::ok(
            "overlayfs",
            "overlay module installed (loads on first mount)",
        );
    }
    let hints = vec![fix("sudo modprobe overlay")];
    let needed = needs.first("overlay", "image layers");
    Item::missing("overlayfs", needed, "not in /proc/filesystems", hints)
}

/// Rootless overlay (lab 06): an overlay mounted with `userxattr` inside a
/// new user and mount namespace (Linux 5.11+). Tried for real with
/// `unshare`, in a temp dir; the mount lives and dies in the throwaway
/// namespace, so the host's mount table never sees it.
pub fn rootless_overlay() -> Item {
    const NAME: &str = "rootless overlay";
    let dir = std::env::temp_dir().join(format!("dockyard-doctor-ovl-{}", std::process::id()));
    let subdirs = ["lower", "upper", "work", "merged"];
    if subdirs
        .iter()
        .any(|d| std::fs::create_dir_all(dir.join(d)).is_err())
    {
        let _ = std::fs::remove_dir_all(&dir);
        return Item::optional(NAME, "cannot make a temp dir to try it", Vec::new());
    }
    let d = dir.display();
    let script = format!(
        "mount -t overlay overlay -o lowerdir={d}/lower,upperdir={d}/upper,workdir={d}/work,userxattr {d}/merged"
    );
    let tried = std::process::Command::new("timeout")
        .args([
            "5",
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            &script,
        ])
        .stdin(std::process::Stdio::null())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    match tried {
        Ok(out) if out.status.success() => Item::ok(
            NAME,
            "overlay mounts with userxattr in a user namespace (lab 06's --userxattr)",
        ),
        Ok(out) => Item::optional(
            NAME,
            format!(
                "an overlay with userxattr in a user namespace failed: {} (Linux 5.11+ and unprivileged user namespaces are needed; lab 06 runs as root without it)",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Vec::new(),
        ),
        Err(err) => Item::optional(
            NAME,
            format!("cannot run unshare to try it: {err}"),
            Vec::new(),
        ),
    }
}

/// /proc/filesystems: one `[nodev]<TAB>name` line per filesystem.
fn has_filesystem(text: &str, name: &str) -> bool {
    text.lines()
        .any(|line| line.split_whitespace().last() == Some(name))
}

fn overlay_module_installed() -> bool {
    let Some(release) = read_trimmed("/proc/sys/kernel/osrelease") else {
        return false;
    };
    // modules.dep names every module of this kernel, compressed or not.
    read(format!("/lib/modules/{release}/modules.dep"))
        .is_some_and(|deps| deps.contains("/overlay.ko"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filesystems_are_listed() {
        assert!(has_filesystem(
            "nodev\tproc\nnodev\toverlay\n\text4\n",
            "overlay"
        ));
        assert!(!has_filesystem("nodev\tproc\n\text4\n", "overlay"));
    }
}
