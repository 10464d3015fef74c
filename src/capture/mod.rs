//! Capturing wtcurl's own packets (pnet, AF_PACKET), decoding them like tcpdump, and writing pcap.
//!
//! [`Capture::start`] opens an `AF_PACKET` socket, has `pnet_datalink` bind it to the interface
//! the traffic takes (or none for `any`), and reads it on a background thread with `recvmsg`, which
//! also returns what pnet's own receiver throws away: the packet type (outgoing or not: on `lo`
//! every packet is seen twice and, like libpcap, only the incoming copy is kept), the kernel's
//! `CLOCK_REALTIME` timestamp (`SO_TIMESTAMPNS`) and the socket's drop counter (`SO_RXQ_OVFL`).
//! Frames are filtered in userspace to the addresses wtcurl talks to ([`CaptureSpec::hosts`],
//! [`Capture::add_host`]) and, once known, to its exact flows ([`Capture::add_flow`]).
//!
//! [`Capture::stop`] returns a [`CaptureReport`]: every kept frame, decoded by `pnet_packet`
//! ([`decode`]), with what it carries (DNS question or answer, TLS record types, HTTP request or
//! status line). [`tcpdump_line`] prints a packet as `tcpdump -n -tt` does (relative sequence
//! numbers replayed exactly as tcpdump computes them, see [`FlowSeqs`]); [`write_pcap`] writes a
//! classic pcap file that `tcpdump -r` and Wireshark read.
//!
//! Nothing here goes through [`crate::sys`]: the capture is an instrument watching the engine's
//! traffic, not part of the request, and its syscalls are not in the trace.

mod decode;
mod format;
mod live;
mod pcap;
pub mod session;
#[cfg(test)]
mod tests;

pub use decode::{Decoded, Linktype, Proto, TcpFlags, TcpOption, TcpSegment, decode};
pub use format::{FlowSeqs, tcpdump_line};
pub use live::{Capture, CaptureSpec, FlowProto};
pub use pcap::write_pcap;

use std::fmt;

/// Which way a packet went, seen from this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Sent by this host (wtcurl's side of the flow).
    Out,
    /// Received by this host.
    In,
}

/// One captured frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Packet {
    /// When the kernel saw it, microseconds since the Unix epoch (`CLOCK_REALTIME`).
    pub ts_us_epoch: u64,
    pub direction: Direction,
    /// The frame as captured, link-layer header included (see [`CaptureReport::linktype`]).
    pub raw: Vec<u8>,
    /// The frame's length on the wire; larger than `raw.len()` only if the frame was cut.
    pub orig_len: u32,
    pub decoded: Decoded,
}

/// What a capture saw.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptureReport {
    /// The kept packets, in the order the kernel delivered them.
    pub packets: Vec<Packet>,
    /// Packets the kernel dropped because the capture socket's buffer was full (all traffic on
    /// the interface, not only wtcurl's). Only meaningful if `dropped_known`.
    pub dropped: u64,
    /// False if the kernel's drop counter could not be read (`SO_RXQ_OVFL` refused).
    pub dropped_known: bool,
    /// The interface captured on (`lo`, `eth0`, … or `any`).
    pub interface: String,
    /// The link-layer type of every `raw` frame.
    pub linktype: Linktype,
    /// Anything the reader of the capture should know (an address routed through another
    /// interface, packets not kept because of the memory cap, a read error that ended it early).
    pub notes: Vec<String>,
}

/// The hint for a capture refused for lack of privilege.
pub const NO_PERMISSION_HINT: &str =
    "run with sudo, or: sudo setcap cap_net_raw+ep $(which wtcurl)";

/// Why a capture could not start.
#[derive(Debug)]
pub enum CaptureError {
    /// `socket(AF_PACKET)` was refused (EPERM/EACCES): the process lacks CAP_NET_RAW.
    NoPermission { errno: String },
    /// The interface named does not exist, or no interface routes to the address.
    NoInterface(String),
    /// Any other failure, with the step that failed.
    Other(String),
}

impl CaptureError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            CaptureError::NoPermission { .. } => Some(NO_PERMISSION_HINT),
            CaptureError::NoInterface(_) => Some("name an existing interface (ip link), or `any`"),
            CaptureError::Other(_) => None,
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::NoPermission { errno } => write!(
                f,
                "cannot capture packets: socket(AF_PACKET) failed with {errno} (capturing needs \
                 CAP_NET_RAW); {NO_PERMISSION_HINT}"
            ),
            CaptureError::NoInterface(m) => write!(f, "cannot capture packets: {m}"),
            CaptureError::Other(m) => write!(f, "cannot capture packets: {m}"),
        }
    }
}

impl std::error::Error for CaptureError {}
