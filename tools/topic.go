package tools

import (
	"encoding/base64"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Topic runs `weir topic <subcommand>`.
func Topic(args []string, io IO) int {
	return dispatch("topic", "Create, list, describe, alter and delete topics; elect their leaders; "+
		"move their replicas to other brokers and between log dirs.", []subcommand{
		{topicCreateCmd, topicCreate},
		{topicListCmd, topicList},
		{topicDescribeCmd, topicDescribe},
		{topicAlterCmd, topicAlter},
		{topicDeleteCmd, topicDelete},
		{topicElectCmd, topicElect},
		{topicMoveCmd, topicMove},
		{topicReassignCmd, topicReassign},
	}, args, io)
}

// topicFlag registers --topic: repeatable and comma-separated, since a
// topic name cannot hold a comma.
func topicFlag(fs *pflag.FlagSet, help string) *[]string {
	return fs.StringSliceP("topic", "t", nil, help+" (repeatable; names may also follow the flags)")
}

// topicID prints a topic id as Kafka does (URL-safe base64, no padding);
// "" for a broker that has no ids.
func topicID(id [16]byte) string {
	if id == [16]byte{} {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(id[:])
}

// joinInts prints broker ids or partitions as "1,2,3".
func joinInts(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}

// sortedKeys are m's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
