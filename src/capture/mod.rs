//! Capturing wtcurl's own packets (pnet, AF_PACKET), decoding them like tcpdump, and writing pcap.
