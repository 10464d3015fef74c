//! The `wtcurl` binary: parse flags, pick renderers, run the engine, exit with curl's code.
fn main() {}
