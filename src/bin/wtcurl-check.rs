//! `wtcurl-check`: compares a wtcurl `--trace-json` trace with strace's log and a pcap of the same
//! run, and reports every mismatch (exit 0: none, 1: some, 2: usage or I/O error).

use clap::Parser;

fn main() {
    let args = wtcurl::check::Args::parse();
    std::process::exit(wtcurl::check::main(&args));
}
