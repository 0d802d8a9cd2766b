package tools

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirmq/weir/logstore/metalog"
)

// A metadata log written by metalog, and its snapshot, print every record
// by name with its fields; the control records by their type.
func TestDumpLogClusterMetadata(t *testing.T) {
	dir := t.TempDir()
	open := func() *metalog.Log {
		l, _, err := metalog.Open(dir, metalog.Options{NodeID: 3, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := open()
	id := metalog.UUID{0xaa, 1}
	v := "compact"
	recs := []metalog.Record{metalog.TopicRecord{Name: "orders", ID: id},
		metalog.ConfigRecord{ResourceType: metalog.ResourceTopic, ResourceName: "orders", Name: "cleanup.policy", Value: &v},
		metalog.PartitionRecord{Partition: 0, TopicID: id, Replicas: []int32{3}, ISR: []int32{3}, Leader: 3}}
	if _, err := l.Append(recs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	seg := filepath.Join(dir, "00000000000000000000.log")
	code, out, stderr := runDumpLog(t, "--cluster-metadata-decoder", "--files", seg)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	wants := []string{
		`| offset: 0 CreateTime: `,
		` keySize: 4 valueSize: 19 headerKeys: [] LeaderChange: {"version":0,"leaderId":3,"voters":[{"voterId":3}],"grantingVoters":[{"voterId":3}]}`,
		`| offset: 1 CreateTime: `,
		`payload: {"type":"FEATURE_LEVEL_RECORD","version":0,"data":{"name":"metadata.version","featureLevel":7}}`,
		`| offset: 2 CreateTime: `,
		fmt.Sprintf(`keySize: -1 valueSize: 27 headerKeys: [] payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":%q}}`, id.String()),
		`payload: {"type":"CONFIG_RECORD","version":0,"data":{"resourceType":2,"resourceName":"orders","name":"cleanup.policy","value":"compact"}}`,
		`| offset: 4 CreateTime: `,
		`payload: {"type":"PARTITION_RECORD","version":0,"data":{"partitionId":0,"topicId":"` + id.String() +
			`","replicas":[3],"isr":[3],"removingReplicas":[],"addingReplicas":[],"leader":3,"leaderRecoveryState":0,"leaderEpoch":0,"partitionEpoch":0}}`,
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}

	// JSON carries the decoded record under "metadata".
	code, out, _ = runDumpLog(t, "--cluster-metadata-decoder", "--output", "json", seg)
	var b struct {
		Records []struct {
			Metadata struct {
				Label string          `json:"label"`
				Value json.RawMessage `json:"value"`
			} `json:"metadata"`
		} `json:"records"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || json.Unmarshal([]byte(lines[2]), &b) != nil || len(b.Records) != 3 ||
		b.Records[0].Metadata.Label != "payload" || !strings.Contains(string(b.Records[0].Metadata.Value), `"TOPIC_RECORD"`) {
		t.Errorf("json: exit %d\n%s", code, out)
	}

	// Reopened (a LeaderChange at offset 5, epoch 2) and snapshotted.
	l = open()
	state := append([]metalog.Record{metalog.FeatureLevelRecord{Name: "metadata.version", FeatureLevel: 7}}, recs...)
	if err := l.Snapshot(state); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(dir, l.LatestSnapshot().FileName())
	l.Close()
	code, out, stderr = runDumpLog(t, "--files", snap)
	if code != 0 {
		t.Fatalf("snapshot: exit %d: %s%s", code, out, stderr)
	}
	for _, w := range []string{
		"Snapshot end offset: 6, epoch: 2",
		"baseOffset: 0 lastOffset: 0 count: 1",
		`SnapshotHeader: {"version":0,"lastContainedLogTimestamp":`,
		`| offset: 1 CreateTime: `,
		`"type":"FEATURE_LEVEL_RECORD"`,
		`| offset: 4 CreateTime: `,
		`| offset: 5 CreateTime: `,
		`SnapshotFooter: {"version":0}`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("snapshot: no %q in:\n%s", w, out)
		}
	}

	// A record that is not a metadata record is a problem, exit 1.
	s, _ := codecSegment(t, testCodecs[0], 1)
	path := writeFile(t, t.TempDir(), segName, s.data)
	code, out, _ = runDumpLog(t, "--cluster-metadata-decoder", path)
	if code != 1 || !strings.Contains(out, "is not a metadata record") {
		t.Errorf("client records: exit %d\n%s", code, out)
	}
}

// The broker records (registration and fencing) print by Kafka's names
// with Kafka's JSON fields.
func TestDumpLogBrokerRecords(t *testing.T) {
	dir := t.TempDir()
	l, _, err := metalog.Open(dir, metalog.Options{NodeID: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	inc := metalog.UUID{0xbb, 2}
	recs := []metalog.Record{
		metalog.RegisterBrokerRecord{BrokerID: 2, IncarnationID: inc, BrokerEpoch: 2, Fenced: true,
			EndPoints: []metalog.BrokerEndpoint{{Name: "PLAINTEXT", Host: "h2", Port: 9093}}},
		metalog.BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 2, Fenced: metalog.UnfenceChange},
		metalog.BrokerRegistrationChangeRecord{BrokerID: 2, BrokerEpoch: 2, InControlledShutdown: 1},
		metalog.FenceBrokerRecord{ID: 2, Epoch: 2},
		metalog.UnfenceBrokerRecord{ID: 2, Epoch: 2},
		metalog.UnregisterBrokerRecord{BrokerID: 2, BrokerEpoch: 2},
	}
	if _, err := l.Append(recs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	code, out, stderr := runDumpLog(t, "--cluster-metadata-decoder", "--files", filepath.Join(dir, "00000000000000000000.log"))
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	for _, w := range []string{
		`payload: {"type":"REGISTER_BROKER_RECORD","version":1,"data":{"brokerId":2,"incarnationId":"` + inc.String() +
			`","brokerEpoch":2,"endPoints":[{"name":"PLAINTEXT","host":"h2","port":9093,"securityProtocol":0}],` +
			`"features":[],"rack":null,"fenced":true,"inControlledShutdown":false}}`,
		`payload: {"type":"BROKER_REGISTRATION_CHANGE_RECORD","version":0,"data":{"brokerId":2,"brokerEpoch":2,"fenced":-1}}`,
		`payload: {"type":"BROKER_REGISTRATION_CHANGE_RECORD","version":1,"data":{"brokerId":2,"brokerEpoch":2,"fenced":0,"inControlledShutdown":1}}`,
		`payload: {"type":"FENCE_BROKER_RECORD","version":0,"data":{"id":2,"epoch":2}}`,
		`payload: {"type":"UNFENCE_BROKER_RECORD","version":0,"data":{"id":2,"epoch":2}}`,
		`payload: {"type":"UNREGISTER_BROKER_RECORD","version":0,"data":{"brokerId":2,"brokerEpoch":2}}`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("no %q in:\n%s", w, out)
		}
	}
}
