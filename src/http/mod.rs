//! HTTP/1.1 wire formats written and parsed by wtcurl: request head, response head, body framing, decoding.
