//! A circuit breaker over a rolling time window: fail fast while a server keeps failing.
