//! The view of `samocoder ask`: the answer's text on stdout as it streams (on a terminal), the
//! router's notices on stderr, and the partial text of a discarded attempt clearly ended. Off a
//! terminal or with `--json` nothing is streamed: the command prints the complete answer.

use std::sync::Mutex;

use super::{Paint, Ui};
use crate::protocol::{Event, EventSink};

pub struct AskRenderer {
    ui: Ui,
    live: bool,
    /// Text of the current attempt is on screen and its line is not ended.
    shown: Mutex<bool>,
    /// Reasoning is being shown (dimmed, before the answer).
    thinking: Mutex<bool>,
}

impl AskRenderer {
    pub fn new(ui: Ui) -> AskRenderer {
        let live = ui.stdout_is_tty() && !ui.json();
        AskRenderer {
            ui,
            live,
            shown: Mutex::new(false),
            thinking: Mutex::new(false),
        }
    }

    /// Whether the text was streamed (so the command must not print it again).
    pub fn streamed(&self) -> bool {
        self.live
    }

    /// Ends the streamed line (after the answer or an error).
    pub fn end_line(&self) {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if *shown {
            let _ = self.ui.out_raw("\n");
            *shown = false;
        }
    }
}

impl EventSink for AskRenderer {
    fn emit(&self, event: Event) {
        match event {
            Event::ModelReasoning { text, .. } if self.live && !text.is_empty() => {
                let mut thinking = self.thinking.lock().unwrap_or_else(|p| p.into_inner());
                let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
                if !*thinking {
                    *thinking = true;
                    let _ = self.ui.out_raw(&self.ui.paint(Paint::Dim, "thinking: "));
                }
                if self.ui.out_raw(&self.ui.paint(Paint::Dim, &text)).is_ok() {
                    *shown = true;
                }
            }
            Event::ModelText { text, .. } if self.live && !text.is_empty() => {
                let mut thinking = self.thinking.lock().unwrap_or_else(|p| p.into_inner());
                if std::mem::take(&mut *thinking) {
                    let _ = self.ui.out_raw("\n\n");
                }
                let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
                if self.ui.out_raw(&text).is_ok() {
                    *shown = !text.ends_with('\n');
                }
            }
            Event::ModelReset { .. } if self.live => {
                *self.thinking.lock().unwrap_or_else(|p| p.into_inner()) = false;
                self.end_line();
                self.ui.info("(the answer above was cut off; asking again)");
            }
            Event::Routing { message, .. } => {
                self.end_line();
                self.ui.info(message);
            }
            _ => {}
        }
    }
}
