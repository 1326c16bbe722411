//! Filesystems: how `/` propagates mounts, and overlayfs for image layers.

use super::detect::root_is_shared;
use super::needs::Needs;
use super::report::{Item, fix};
use super::sys::{major_minor, read, read_trimmed};

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

/// Many layers (lab 06, task 06.3): past a page of mount data, overlay's
/// `lowerdir+` (Linux 6.8+) or Docker's short links and a relative
/// `lowerdir` (any kernel). Asked of the kernel as root (`fsopen` of an
/// overlay context and `CMD_CREATE`, never mounted: nothing changes on the
/// host, see `shared::overlay`); read from the kernel's version otherwise.
pub fn many_layers() -> Item {
    const NAME: &str = "100+ layers";
    let dir = std::env::temp_dir().join(format!("dockyard-doctor-many-{}", std::process::id()));
    let asked = std::fs::create_dir_all(&dir)
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))
        .and_then(|()| shared::overlay::takes_lowerdir_plus(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    let release = read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_default();
    match asked {
        Ok(plus) => Item::ok(NAME, many_layers_path(plus, "")),
        Err(_) => {
            // Not root (EPERM), or no overlay yet: say what the version suggests.
            let plus = major_minor(&release).is_some_and(|v| v >= (6, 8));
            Item::ok(
                NAME,
                many_layers_path(
                    plus,
                    &format!(" (by the version, {release}; as root the doctor asks the kernel)"),
                ),
            )
        }
    }
}

/// The sentence `doctor` prints for the path lab 06 takes past a page.
fn many_layers_path(plus: bool, how_known: &str) -> String {
    if plus {
        format!(
            "overlay takes lowerdir+{how_known}: lab 06 mounts them with the new mount API, \
             one lowerdir+ per layer (short links with --many-layers short-links)"
        )
    } else {
        format!(
            "no lowerdir+ before Linux 6.8{how_known}: lab 06 mounts them with short links \
             and a relative lowerdir, as Docker does"
        )
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
    fn the_many_layers_path_is_named() {
        assert!(many_layers_path(true, "").contains("lowerdir+ per layer"));
        assert!(many_layers_path(false, " (by the version)").contains("short links"));
    }

    #[test]
    fn filesystems_are_listed() {
        assert!(has_filesystem(
            "nodev\tproc\nnodev\toverlay\n\text4\n",
            "overlay"
        ));
        assert!(!has_filesystem("nodev\tproc\n\text4\n", "overlay"));
    }
}
