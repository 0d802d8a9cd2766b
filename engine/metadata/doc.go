// Package metadata holds the broker's view of the cluster as one immutable
// Image: the cluster id, the brokers with their endpoints, the controller,
// and (later) topics and partitions. Request handlers read the current
// Image without locks; a change builds a new Image and swaps it in whole
// (engine keeps it in an atomic.Pointer), so a handler never sees half an
// update.
//
// Later the images will come from replaying the KRaft metadata log; for
// now the broker builds the one it starts with.
//
// metadata imports nothing of Weir.
package metadata
