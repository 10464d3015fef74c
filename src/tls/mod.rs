//! TLS done step by step: rustls driven over wtcurl's own recorded socket, every flight decoded and explained.
