//! `--trace-json FILE`: every event as one JSON object per line (schema in README).

use crate::event::{Event, Observer};
use std::io::Write;

/// Writes each event as a JSON line. Write errors are remembered, not fatal to the transfer.
pub struct JsonTrace<W: Write> {
    out: W,
    pub error: Option<std::io::Error>,
}

impl<W: Write> JsonTrace<W> {
    pub fn new(out: W) -> Self {
        JsonTrace { out, error: None }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Observer for JsonTrace<W> {
    fn on_event(&mut self, event: &Event) {
        if self.error.is_some() {
            return;
        }
        let res = serde_json::to_writer(&mut self.out, event)
            .map_err(std::io::Error::other)
            .and_then(|_| self.out.write_all(b"\n"));
        let res = match event {
            Event::Done { .. } => res.and_then(|_| self.out.flush()),
            _ => res,
        };
        if let Err(e) = res {
            self.error = Some(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::event::Tracer;

    #[test]
    fn one_object_per_line_starting_with_trace_start() {
        let clock = FakeClock::new(5);
        let mut j = JsonTrace::new(Vec::new());
        {
            let mut t = Tracer::new(&clock, &mut j);
            t.emit(Event::Done {
                at_us: 7,
                exit_code: 0,
            });
        }
        let text = String::from_utf8(j.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with(r#"{"type":"trace_start","schema":1,"epoch_us":"#));
        assert_eq!(lines[1], r#"{"type":"done","at_us":7,"exit_code":0}"#);
    }
}
