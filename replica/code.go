package replica

import "strconv"

// Code is a Kafka protocol error code, the outcome the machine decides for
// a request. The engine puts it in the response as it is (int16).
type Code int16

// The codes the machine answers with; the numbers are Kafka's.
const (
	None                         Code = 0
	OffsetOutOfRange             Code = 1
	NotLeaderOrFollower          Code = 6
	NotEnoughReplicas            Code = 19
	NotEnoughReplicasAfterAppend Code = 20
	FencedLeaderEpoch            Code = 74
	UnknownLeaderEpoch           Code = 75
)

var codeNames = map[Code]string{
	None:                         "NONE",
	OffsetOutOfRange:             "OFFSET_OUT_OF_RANGE",
	NotLeaderOrFollower:          "NOT_LEADER_OR_FOLLOWER",
	NotEnoughReplicas:            "NOT_ENOUGH_REPLICAS",
	NotEnoughReplicasAfterAppend: "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
	FencedLeaderEpoch:            "FENCED_LEADER_EPOCH",
	UnknownLeaderEpoch:           "UNKNOWN_LEADER_EPOCH",
}

// String is Kafka's name of the code.
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return "code " + strconv.Itoa(int(c))
}
