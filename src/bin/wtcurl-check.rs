//! `wtcurl-check`: compares a wtcurl `--trace-json` trace with strace's log and a pcap of the same
//! run, and reports every mismatch (exit 0: none, 1: some, 2: usage or input error, 3: none, but
//! some trace syscalls of a kind it does not know were not compared).

use clap::Parser;

fn main() {
    let args = wtcurl::check::Args::parse();
    std::process::exit(wtcurl::check::main(&args));
}
