//! Name resolution done by wtcurl itself: nsswitch order, hosts file, resolv.conf, DNS over its own sockets.
