//! The `--kernel-view` part of `--explain`: route, link, neighbour, port range, and the close.

use super::Explain;
use crate::event::Event;
use std::io::Write;

impl<W: Write> Explain<W> {
    pub(super) fn kernel(&mut self, _event: &Event) {}
}
