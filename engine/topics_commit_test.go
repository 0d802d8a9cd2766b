package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
	"github.com/weirmq/weir/engine/metadata"
	"github.com/weirmq/weir/logstore"
)

// failingProposer refuses every proposal, as a metadata log that cannot
// be written (or a quorum that does not answer) does.
type failingProposer struct{ controller.Proposer }

var errProposal = errors.New("injected proposal failure")

func (failingProposer) Propose([]metadata.Record) (*metadata.Image, error) { return nil, errProposal }

// A change whose proposal fails after its partition logs were made drops
// the logs, publishes nothing and answers KAFKA_STORAGE_ERROR; the same
// change goes through once proposals do.
func TestProposalFailureDropsLogs(t *testing.T) {
	b := newTopicBroker(t)
	createTopic(t, b, "grows", 1)
	real := b.ctl.proposer
	b.ctl.mu.Lock()
	b.ctl.proposer = failingProposer{real}
	b.ctl.mu.Unlock()

	resp := roundTrip(t, b, createReq(7, false, newTopic("lost", 3, 1))).(*kmsg.CreateTopicsResponse)
	if r := resp.Topics[0]; r.ErrorCode != kerr.KafkaStorageError.Code ||
		!strings.Contains(msgOf(r.ErrorMessage), errProposal.Error()) {
		t.Fatalf("create: %d %q", r.ErrorCode, msgOf(r.ErrorMessage))
	}
	pr := roundTrip(t, b, createPartitionsReq(false, "grows", 3)).(*kmsg.CreatePartitionsResponse)
	if r := pr.Topics[0]; r.ErrorCode != kerr.KafkaStorageError.Code {
		t.Fatalf("create partitions: %d %q", r.ErrorCode, msgOf(r.ErrorMessage))
	}
	if _, ok := b.image.Load().Topic("lost"); ok {
		t.Fatal("a topic whose proposal failed is in the image")
	}
	for _, tp := range []logstore.TopicPartition{{Topic: "lost", Partition: 0}, {Topic: "lost", Partition: 2},
		{Topic: "grows", Partition: 1}} {
		if _, l := b.findLog(tp); l != nil {
			t.Errorf("%s: log kept after the proposal failed", tp)
		}
		for _, d := range b.cfg.LogDirs {
			if _, err := os.Stat(filepath.Join(d, tp.String())); err == nil {
				t.Errorf("%s: directory left in %s", tp, d)
			}
		}
	}
	if g, _ := b.image.Load().Topic("grows"); len(g.Partitions) != 1 || b.lookupPartition("grows", 1) != nil {
		t.Fatalf("grows has %d partitions", len(g.Partitions))
	}

	b.ctl.mu.Lock()
	b.ctl.proposer = real
	b.ctl.mu.Unlock()
	createTopic(t, b, "lost", 3)
	pr = roundTrip(t, b, createPartitionsReq(false, "grows", 3)).(*kmsg.CreatePartitionsResponse)
	if r := pr.Topics[0]; r.ErrorCode != 0 || b.lookupPartition("grows", 2) == nil || b.lookupPartition("lost", 2) == nil {
		t.Fatalf("after recovery: %d %q", r.ErrorCode, msgOf(r.ErrorMessage))
	}
}
