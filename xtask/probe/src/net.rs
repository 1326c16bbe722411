//! Network: the interfaces and IPv4 routes of the process's network
//! namespace. Interfaces come from getifaddrs(3), which asks the kernel over
//! netlink and so always shows the current namespace (and works in a static
//! binary). /sys/class/net is only a fallback: it shows the namespace of
//! whoever mounted /sys, which in a container may still be the host's.

use crate::sys;
use serde_json::{Value, json};
use std::ffi::{CStr, CString};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What getifaddrs says about one interface.
#[derive(Default)]
struct Interface {
    name: String,
    flags: u32,
    mac: Option<String>,
    addresses: Vec<String>,
}

/// The interfaces sorted by index, or null if getifaddrs fails.
pub fn interfaces() -> Value {
    let Some(list) = list_interfaces() else {
        return Value::Null;
    };
    let mut described: Vec<(u32, Value)> = list.into_iter().map(describe).collect();
    described.sort_by_key(|(index, _)| *index);
    described.into_iter().map(|(_, value)| value).collect()
}

/// One interface as JSON, with its index (unknown sorts last).
fn describe(interface: Interface) -> (u32, Value) {
    let index = name_to_index(&interface.name);
    let sys_dir = format!("/sys/class/net/{}", interface.name);
    let mtu =
        mtu(&interface.name).or_else(|| sys::read_trimmed(format!("{sys_dir}/mtu"))?.parse().ok());
    let mac = interface
        .mac
        .or_else(|| sys::read_trimmed(format!("{sys_dir}/address")));
    let flag = |bit: libc::c_int| interface.flags & bit as u32 != 0;
    let value = json!({
        "name": interface.name,
        "index": index,
        "up": flag(libc::IFF_UP),
        "running": flag(libc::IFF_RUNNING),
        "loopback": flag(libc::IFF_LOOPBACK),
        "mtu": mtu,
        "mac": mac,
        "addresses": interface.addresses,
    });
    (index.unwrap_or(u32::MAX), value)
}

/// Walks the getifaddrs list, merging its entries by interface name.
fn list_interfaces() -> Option<Vec<Interface>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return None;
    }
    let mut list: Vec<Interface> = Vec::new();
    let mut current = head;
    while !current.is_null() {
        // SAFETY: `current` is a node of the list getifaddrs returned.
        let entry = unsafe { &*current };
        // SAFETY: ifa_name is a NUL-terminated string in that node.
        let name = unsafe { CStr::from_ptr(entry.ifa_name) }.to_string_lossy();
        let position = match list.iter().position(|known| known.name == name) {
            Some(position) => position,
            None => {
                list.push(Interface {
                    name: name.into_owned(),
                    ..Interface::default()
                });
                list.len() - 1
            }
        };
        // SAFETY: the addresses belong to the same node.
        unsafe { add_entry(&mut list[position], entry) };
        current = entry.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Some(list)
}

/// Adds one getifaddrs entry (an IPv4 or IPv6 address, or the link-layer
/// address) to its interface.
///
/// # Safety
/// `entry.ifa_addr` and `entry.ifa_netmask` must be null or point to socket
/// addresses of the family that `ifa_addr` says, as getifaddrs makes them.
unsafe fn add_entry(interface: &mut Interface, entry: &libc::ifaddrs) {
    interface.flags = entry.ifa_flags;
    let (addr, mask) = (entry.ifa_addr, entry.ifa_netmask);
    if addr.is_null() {
        return;
    }
    // SAFETY: per this function's contract.
    unsafe {
        match libc::c_int::from((*addr).sa_family) {
            libc::AF_INET => {
                let ip = (*addr.cast::<libc::sockaddr_in>()).sin_addr.s_addr;
                let prefix = if mask.is_null() {
                    32
                } else {
                    (*mask.cast::<libc::sockaddr_in>())
                        .sin_addr
                        .s_addr
                        .count_ones()
                };
                let ip = Ipv4Addr::from(ip.to_ne_bytes());
                interface.addresses.push(format!("{ip}/{prefix}"));
            }
            libc::AF_INET6 => {
                let ip = (*addr.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr;
                let prefix: u32 = if mask.is_null() {
                    128
                } else {
                    let bytes = (*mask.cast::<libc::sockaddr_in6>()).sin6_addr.s6_addr;
                    bytes.iter().map(|byte| byte.count_ones()).sum()
                };
                interface
                    .addresses
                    .push(format!("{}/{prefix}", Ipv6Addr::from(ip)));
            }
            libc::AF_PACKET => {
                let link = &*addr.cast::<libc::sockaddr_ll>();
                let length = usize::from(link.sll_halen).min(link.sll_addr.len());
                if length > 0 {
                    interface.mac = Some(mac_text(&link.sll_addr[..length]));
                }
            }
            _ => {}
        }
    }
}

/// A hardware address as `aa:bb:cc:dd:ee:ff`.
fn mac_text(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    parts.join(":")
}

/// if_nametoindex, or `None` when the name is unknown.
fn name_to_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// The MTU, asked of the kernel with the SIOCGIFMTU ioctl.
fn mtu(name: &str) -> Option<i32> {
    // SAFETY: ifreq is plain data, so all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    if name.len() >= request.ifr_name.len() {
        return None;
    }
    for (slot, byte) in request.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: a plain socket call; the descriptor is closed below.
    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if socket < 0 {
        return None;
    }
    // SAFETY: SIOCGIFMTU reads and writes the ifreq we own.
    let rc = unsafe { libc::ioctl(socket, libc::SIOCGIFMTU, &mut request) };
    // SAFETY: we opened `socket` above.
    unsafe { libc::close(socket) };
    if rc != 0 {
        return None;
    }
    // SAFETY: on success the kernel filled in the ifru_mtu member.
    Some(unsafe { request.ifr_ifru.ifru_mtu })
}

/// The IPv4 routing table, or null when /proc/net/route cannot be read.
pub fn routes() -> Value {
    match sys::read_text("/proc/net/route") {
        Some(text) => text.lines().skip(1).filter_map(parse_route).collect(),
        None => Value::Null,
    }
}

/// One line of /proc/net/route:
/// `Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT`.
pub fn parse_route(line: &str) -> Option<Value> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [
        interface,
        destination,
        gateway,
        flags,
        _refcnt,
        _use,
        metric,
        mask,
        ..,
    ] = fields[..]
    else {
        return None;
    };
    Some(json!({
        "interface": interface,
        "destination": hex_address(destination)?,
        "gateway": hex_address(gateway)?,
        "mask": hex_address(mask)?,
        "flags": u32::from_str_radix(flags, 16).ok()?,
        "metric": metric.parse::<u64>().ok()?,
    }))
}

/// An address as /proc/net/route writes it: the four bytes in network
/// order, read as a little-endian number and printed in hex. So
/// `0100007F` is 127.0.0.1.
pub fn hex_address(hex: &str) -> Option<String> {
    let number = u32::from_str_radix(hex, 16).ok()?;
    Some(Ipv4Addr::from(number.to_le_bytes()).to_string())
}

#[cfg(test)]
mod tests {
    use super::{hex_address, mac_text, parse_route};

    #[test]
    fn decodes_little_endian_hex() {
        assert_eq!(hex_address("0100007F").as_deref(), Some("127.0.0.1"));
        assert_eq!(hex_address("0101A8C0").as_deref(), Some("192.168.1.1"));
        assert_eq!(hex_address("00FFFFFF").as_deref(), Some("255.255.255.0"));
        assert_eq!(hex_address("00000000").as_deref(), Some("0.0.0.0"));
        assert_eq!(hex_address("zz"), None);
    }

    #[test]
    fn parses_a_route_line() {
        let line = "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0";
        let route = parse_route(line).expect("a valid line");
        assert_eq!(route["interface"], "eth0");
        assert_eq!(route["destination"], "0.0.0.0");
        assert_eq!(route["gateway"], "192.168.1.1");
        assert_eq!(route["mask"], "0.0.0.0");
        assert_eq!(route["flags"], 3);
        assert_eq!(route["metric"], 100);
    }

    #[test]
    fn rejects_a_short_line() {
        assert!(parse_route("eth0 00000000 0101A8C0").is_none());
    }

    #[test]
    fn formats_a_mac() {
        assert_eq!(
            mac_text(&[0x02, 0x42, 0xac, 0x11, 0, 2]),
            "02:42:ac:11:00:02"
        );
    }
}
