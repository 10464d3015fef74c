//! Writing a capture as a classic pcap file (microsecond timestamps) with the pcap-file crate.

use super::CaptureReport;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

/// The snapshot length written in the header: tcpdump's default; longer frames are cut to it.
pub const SNAPLEN: u32 = 262_144;

/// Writes `report` to `path` (created or truncated): a pcap header with the report's link type,
/// then every packet with its kernel timestamp. `tcpdump -r` and Wireshark read it.
pub fn write_pcap(path: &Path, report: &CaptureReport) -> io::Result<()> {
    let file = std::fs::File::create(path)?;
    let header = PcapHeader {
        snaplen: SNAPLEN,
        datalink: DataLink::from(report.linktype.pcap_number()),
        endianness: Endianness::native(),
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(BufWriter::new(file), header).map_err(to_io)?;
    for p in &report.packets {
        let data = &p.raw[..p.raw.len().min(SNAPLEN as usize)];
        let orig_len = p.orig_len.max(data.len() as u32);
        let packet = PcapPacket::new(Duration::from_micros(p.ts_us_epoch), orig_len, data);
        w.write_packet(&packet).map_err(to_io)?;
    }
    w.into_writer().flush()
}

fn to_io(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}
