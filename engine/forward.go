package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirmq/weir/engine/controller"
)

// Admin requests reach the active controller from any broker, as in
// Kafka 4: a cluster's node that is not the active controller forwards
// CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs,
// IncrementalAlterConfigs, ElectLeaders and AlterPartitionReassignments
// to it and relays its answer,
// and DescribeQuorum too, which only the leader can answer in full.
// Kafka wraps them in an Envelope (58) with the client's principal;
// Weir, with no authentication yet, sends the request itself over the
// active controller's controller listener, at the client's version. A
// node that becomes the active controller meanwhile answers it itself.
// When no controller answers within forwardTimeout the client's
// connection is closed, and it retries elsewhere, as it would after a
// broker failure.
var forwardedAPIs = map[int16]bool{19: true, 20: true, 33: true, 37: true, 43: true, 44: true, 45: true, 55: true}

// forwardTimeout bounds finding the active controller and its answer.
const forwardTimeout = 15 * time.Second

// forwards says whether a request of API key is sent to another node,
// the active controller.
func (b *Broker) forwards(key int16) bool {
	return b.cluster != nil && forwardedAPIs[key] && b.cluster.activeController() != b.nodeID
}

// forward answers r with the active controller's answer (a's handler
// here when this node has become it).
func (b *Broker) forward(a *api, r *request) {
	go func() {
		resp, err := b.toActiveController(r.kreq, forwardTimeout)
		if errors.Is(err, errSelfController) {
			if resp, err = a.handle(b, r); err == nil && resp == nil {
				return // it answers itself
			}
		}
		if err != nil {
			b.errs.Error("cannot forward a request to the active controller; closing the client's connection",
				"api", kmsg.NameForKey(r.key), "err", err)
			r.conn.Close()
			return
		}
		r.respond(resp)
	}()
}

// errSelfController: this node is the active controller.
var errSelfController = errors.New("this node is the active controller")

// toActiveController sends req to the active controller and returns its
// answer, trying again while no controller is known or one fails, for up
// to timeout. errSelfController when this node is (or becomes) it; a
// NOT_CONTROLLER answer is not retried here (the caller's client
// retries).
func (b *Broker) toActiveController(req kmsg.Request, timeout time.Duration) (kmsg.Response, error) {
	cl := b.cluster
	deadline := time.Now().Add(timeout)
	var err error
	for {
		leader := cl.activeController()
		switch {
		case leader == b.nodeID:
			return nil, errSelfController
		case leader < 0:
			err = errors.New("no active controller is known")
		default:
			var resp kmsg.Response
			if resp, err = cl.forwarder.do(cl.voters[leader], req); err == nil {
				return resp, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the active controller: %w", err)
		}
		select {
		case <-cl.stop:
			return nil, controller.ErrClosed
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// askController sends req to the active controller and returns its
// answer; when that is this node (or becomes it meanwhile), local answers
// it in-process. Errors as toActiveController's.
func (b *Broker) askController(req kmsg.Request, timeout time.Duration, local func() kmsg.Response) (kmsg.Response, error) {
	if b.cluster.activeController() == b.nodeID {
		return local(), nil
	}
	resp, err := b.toActiveController(req, timeout)
	if errors.Is(err, errSelfController) {
		return local(), nil
	}
	return resp, err
}

// autoCreateRemote asks the active controller to create topics names as
// auto-creation does (autoCreate), and returns the code to answer each.
func (b *Broker) autoCreateRemote(names []string) map[string]int16 {
	im := b.image.Load()
	broker := b.brokerConfig()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version, req.TimeoutMillis = 7, int32(forwardTimeout.Milliseconds())
	for _, name := range names {
		tr := b.autoTopicRequest(name, broker, len(im.Brokers()))
		t := kmsg.NewCreateTopicsRequestTopic()
		t.Topic, t.NumPartitions, t.ReplicationFactor = name, tr.Partitions, tr.Replication
		for k, v := range tr.Configs {
			c := kmsg.NewCreateTopicsRequestTopicConfig()
			c.Name, c.Value = k, v
			t.Configs = append(t.Configs, c)
		}
		req.Topics = append(req.Topics, t)
	}
	codes := map[string]int16{}
	resp, err := b.toActiveController(req, forwardTimeout)
	if errors.Is(err, errSelfController) {
		return b.autoCreate(names)
	}
	for _, name := range names {
		codes[name] = kerr.NotController.Code
	}
	if err != nil {
		b.errs.Error("cannot auto-create topics through the active controller", "topics", names, "err", err)
		return codes
	}
	for _, t := range resp.(*kmsg.CreateTopicsResponse).Topics {
		switch t.ErrorCode {
		case 0, kerr.TopicAlreadyExists.Code:
			codes[t.Topic] = autoCreatedCode
		default:
			b.log.Warn("cannot auto-create topic", "topic", t.Topic, "error", kerr.ErrorForCode(t.ErrorCode))
			codes[t.Topic] = t.ErrorCode
		}
	}
	return codes
}
