//! wtcurl: do one HTTP request and explain, truthfully and step by step, everything that happened.
//!
//! The engine ([`engine`]) emits typed events ([`event::Event`]) through a [`event::Tracer`];
//! renderers ([`render`]) turn them into the human explanation, curl's verbose view, `-w` output or a
//! JSON trace. All syscalls go through [`sys`], which records each one.

pub mod breaker;
pub mod capture;
pub mod check;
pub mod cli;
pub mod clock;
pub mod demo;
pub mod demo_tls;
pub mod dns;
pub mod engine;
pub mod error;
pub mod event;
pub mod exchange;
pub mod guard;
pub mod http;
pub mod kernel;
pub mod net;
pub mod process;
pub mod redact;
pub mod render;
pub mod sys;
pub mod target;
pub mod tls;
