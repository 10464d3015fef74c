//! Checking a wtcurl trace against strace and a pcap of the same run: every mismatch, reported.
