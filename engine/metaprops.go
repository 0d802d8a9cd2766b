package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/weirmq/weir/engine/config"
	"github.com/weirmq/weir/logstore"
)

// metaFile is Kafka's per-log-dir identity file. Its KRaft form (version 1):
//
//	version=1
//	cluster.id=<22-char UUID>   the cluster this dir belongs to
//	node.id=<int>               the node that owns it
//	directory.id=<22-char UUID> this dir, unique in the cluster (Kafka 3.7+)
//
// These keys are part of the on-disk format shared with Kafka and must not
// change.
const metaFile = "meta.properties"

// metaProps is one meta.properties.
type metaProps struct {
	ClusterID   string
	NodeID      int32
	DirectoryID UUID // zero when the file predates directory ids
}

// readMeta reads dir's meta.properties; ok is false when there is none.
func readMeta(dir string) (m metaProps, ok bool, err error) {
	path := filepath.Join(dir, metaFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	props, err := config.ParseProperties(bytes.NewReader(data))
	if err != nil {
		return m, false, fmt.Errorf("%s: %w", path, err)
	}
	kv := map[string]string{}
	for _, p := range props {
		kv[p.Key] = p.Value
	}
	switch kv["version"] {
	case "1":
	case "0":
		return m, false, fmt.Errorf("%s: version 0 (ZooKeeper-era) is not supported; "+
			"Weir reads KRaft's version 1", path)
	default:
		return m, false, fmt.Errorf("%s: unknown version %q", path, kv["version"])
	}
	if m.ClusterID = kv["cluster.id"]; m.ClusterID == "" {
		return m, false, fmt.Errorf("%s: no cluster.id", path)
	}
	id, err := strconv.ParseInt(kv["node.id"], 10, 32)
	if err != nil || id < 0 {
		return m, false, fmt.Errorf("%s: bad node.id %q", path, kv["node.id"])
	}
	m.NodeID = int32(id)
	if s, has := kv["directory.id"]; has {
		if m.DirectoryID, err = ParseUUID(s); err != nil {
			return m, false, fmt.Errorf("%s: directory.id: %w", path, err)
		}
	}
	return m, true, nil
}

// writeMeta replaces dir's meta.properties atomically: a temporary file,
// fsync, rename, fsync of the directory.
func writeMeta(dir string, m metaProps) error {
	text := fmt.Sprintf("#\n# Written by Weir: Kafka's KRaft meta.properties.\n"+
		"cluster.id=%s\ndirectory.id=%s\nnode.id=%d\nversion=1\n", m.ClusterID, m.DirectoryID, m.NodeID)
	return logstore.WriteFileAtomic(filepath.Join(dir, metaFile), []byte(text))
}

// ensureMeta checks the meta.properties of every log dir against nodeID and
// each other, and writes the missing ones: with a new cluster id when no
// dir has one yet (first start): newID's. It returns the cluster id.
func ensureMeta(dirs []string, nodeID int32, newID func() string) (clusterID string, formatted []string, err error) {
	metas := make([]metaProps, len(dirs))
	have := make([]bool, len(dirs))
	seenDir := map[UUID]string{}
	for i, dir := range dirs {
		m, ok, err := readMeta(dir)
		if err != nil {
			return "", nil, err
		}
		if !ok {
			continue
		}
		path := filepath.Join(dir, metaFile)
		if m.NodeID != nodeID {
			return "", nil, fmt.Errorf("%s: stored node.id %d does not match the configured node.id %d; "+
				"if the data moved here, configure node.id=%d; for a new node, empty the log dirs",
				path, m.NodeID, nodeID, m.NodeID)
		}
		if clusterID != "" && m.ClusterID != clusterID {
			return "", nil, fmt.Errorf("%s: cluster.id %s differs from %s in another log dir",
				path, m.ClusterID, clusterID)
		}
		clusterID = m.ClusterID
		if other, dup := seenDir[m.DirectoryID]; dup && m.DirectoryID != (UUID{}) {
			return "", nil, fmt.Errorf("%s: directory.id %s is also %s's", path, m.DirectoryID, other)
		}
		seenDir[m.DirectoryID] = dir
		metas[i], have[i] = m, true
	}
	if clusterID == "" {
		clusterID = newID()
	}
	for i, dir := range dirs {
		if have[i] && metas[i].DirectoryID != (UUID{}) {
			continue
		}
		m := metaProps{ClusterID: clusterID, NodeID: nodeID, DirectoryID: metas[i].DirectoryID}
		for m.DirectoryID == (UUID{}) || seenDir[m.DirectoryID] != "" {
			m.DirectoryID = NewUUID()
		}
		seenDir[m.DirectoryID] = dir
		if err := writeMeta(dir, m); err != nil {
			return "", nil, err
		}
		formatted = append(formatted, dir)
	}
	return clusterID, formatted, nil
}
