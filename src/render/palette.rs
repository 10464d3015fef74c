//! Colours decided once (flag, NO_COLOR, terminal), kept in one palette; the plain palette is just another value.

use owo_colors::Style;
use std::fmt::{self, Display};
use std::io::IsTerminal;

/// Styles for every kind of text the renderers print.
#[derive(Clone, Copy, Debug)]
pub struct Palette {
    pub heading: Style,
    pub syscall: Style,
    pub ok: Style,
    pub bad: Style,
    pub dim: Style,
    pub note: Style,
    pub wire_out: Style,
    pub wire_in: Style,
    /// False for the plain palette: `paint` then returns the text untouched.
    pub enabled: bool,
}

impl Palette {
    pub fn plain() -> Self {
        let s = Style::new();
        Palette {
            heading: s,
            syscall: s,
            ok: s,
            bad: s,
            dim: s,
            note: s,
            wire_out: s,
            wire_in: s,
            enabled: false,
        }
    }

    pub fn coloured() -> Self {
        Palette {
            heading: Style::new().bold().cyan(),
            syscall: Style::new().yellow(),
            ok: Style::new().green(),
            bad: Style::new().bold().red(),
            dim: Style::new().dimmed(),
            note: Style::new().italic(),
            wire_out: Style::new().blue(),
            wire_in: Style::new().magenta(),
            enabled: true,
        }
    }

    /// Colour only on a terminal, never with NO_COLOR set (any value) or --no-color.
    pub fn choose(no_color_flag: bool, stream_is_terminal: bool) -> Self {
        let env_says_no = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color_flag || env_says_no || !stream_is_terminal {
            Self::plain()
        } else {
            Self::coloured()
        }
    }

    /// The palette for stderr.
    pub fn for_stderr(no_color_flag: bool) -> Self {
        Self::choose(no_color_flag, std::io::stderr().is_terminal())
    }

    /// `text` in `style`, written straight into the output when displayed (no String built).
    pub fn show<T: Display>(&self, style: Style, text: T) -> Painted<T> {
        Painted {
            style: self.enabled.then_some(style),
            text,
        }
    }

    pub fn paint(&self, style: Style, text: &str) -> String {
        if self.enabled {
            format!("{}", style.style(text))
        } else {
            text.to_string()
        }
    }
}

/// Text with its style, applied when displayed; the plain palette displays the text untouched.
pub struct Painted<T> {
    style: Option<Style>,
    text: T,
}

impl<T: Display> Display for Painted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.style {
            Some(style) => Display::fmt(&style.style(&self.text), f),
            None => Display::fmt(&self.text, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_palette_adds_no_escape_codes() {
        let p = Palette::choose(false, false);
        assert_eq!(p.paint(p.bad, "x"), "x");
        let c = Palette::coloured();
        assert!(c.paint(c.bad, "x").contains('\u{1b}'));
        let forced_off = Palette::choose(true, true);
        assert_eq!(forced_off.paint(forced_off.dim, "y"), "y");
        assert_eq!(p.show(p.bad, "x").to_string(), "x");
        assert_eq!(c.show(c.bad, "x").to_string(), c.paint(c.bad, "x"));
    }
}
