//! wtcurl: do one HTTP request and explain, truthfully and step by step, everything that happened.
//!
//! The engine ([`engine`]) emits typed events ([`event::Event`]) through a [`event::Tracer`];
//! renderers ([`render`]) turn them into the human explanation, curl's verbose view or a JSON trace.
//! All syscalls go through [`sys`], which records each one.

pub mod clock;
pub mod error;
pub mod event;
pub mod sys;
pub mod dns;
pub mod http;
