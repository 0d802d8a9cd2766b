// Package config is Kafka's broker configuration as Weir reads it: a
// registry of known keys with Kafka's names, types, defaults, docs,
// validators and synonyms; a parser for Java-properties files
// (server.properties); the same keys as command-line flags; and the
// resolved values the engine runs with (node id, listeners, log dirs).
//
// Precedence, lowest first: a key's default, server.properties, flags.
// Synonyms (log.retention.ms/minutes/hours, log.dirs/log.dir,
// node.id/broker.id) resolve as Kafka does: the most precise key that is
// set wins, in its own unit.
//
// An unknown key or a value that does not parse or validate is an *Error
// naming the key and the value; `weir serve` exits 2 on it.
//
// config imports nothing of Weir, so it can be read by any command.
package config
